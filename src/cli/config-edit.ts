import { isMap, isSeq, parseDocument, type Document, type YAMLMap } from 'yaml';
import type { ProviderKeyValue } from './provider-templates.js';

export interface KeyEdit {
  providerName: string;
  keyName: string;
  key: ProviderKeyValue;
  /** The provider entry to append when the config has no provider of that name. */
  newProvider: () => Record<string, unknown>;
}

/**
 * Adds (or replaces) one provider key in a config file's text, keeping its comments and layout.
 * Returns the new text and what changed, in words.
 */
export function addProviderKey(text: string, edit: KeyEdit): { text: string; change: string } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`cannot edit the config: ${doc.errors[0].message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new Error('cannot edit the config: it is not a YAML mapping');
  let providers = doc.get('providers');
  if (!isSeq(providers)) {
    providers = doc.createNode([]);
    doc.set('providers', providers);
  }
  const list = providers as { items: unknown[]; add(value: unknown): void };
  const existing = list.items.find((item): item is YAMLMap => isMap(item) && item.get('name') === edit.providerName);
  if (existing) {
    let apiKeys = existing.get('apiKeys');
    if (!isMap(apiKeys)) {
      apiKeys = doc.createNode({});
      existing.set('apiKeys', apiKeys);
    }
    const replaced = (apiKeys as YAMLMap).has(edit.keyName);
    (apiKeys as YAMLMap).set(edit.keyName, keyNode(doc, edit.key));
    return { text: doc.toString(), change: `${replaced ? 'replaced' : 'added'} key "${edit.keyName}" of provider "${edit.providerName}"` };
  }
  const entry = doc.createNode(edit.newProvider()) as YAMLMap;
  const apiKeys = entry.get('apiKeys') as YAMLMap;
  apiKeys.set(edit.keyName, keyNode(doc, edit.key));
  list.add(entry);
  return { text: doc.toString(), change: `added provider "${edit.providerName}" with key "${edit.keyName}"` };
}

function keyNode(doc: Document, key: ProviderKeyValue): unknown {
  const node = doc.createNode(key);
  // `{ oauth: openai-codex, credentialsFile: ... }` on one line, as the docs write it.
  if (isMap(node)) node.flow = true;
  return node;
}
