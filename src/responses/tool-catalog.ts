import type { Tool } from '@mariozechner/pi-ai';
import type { CustomTool, FunctionTool, ResponsesTool } from './responses-request.js';

/** What a target's tool call is on the client's side. */
export interface ClientTool {
  kind: 'function' | 'custom';
  /** The name the client declared (inside its namespace, if any). */
  name: string;
  namespace?: string;
}

/** Separates a namespace from its member in the one flat name a target sees. */
const NAMESPACE_SEPARATOR = '__';

/**
 * The client's tools as pi-ai tools, and the way back. A target calls JSON-schema functions
 * only, so:
 * - a `custom` freeform tool (Codex's `apply_patch`, written to a grammar) becomes a function
 *   with one string parameter `input`, and a call of it goes back as a `custom_tool_call`;
 * - a `namespace` tool's members become functions named `<namespace>__<member>`, and a call
 *   goes back with `name` and `namespace` apart;
 * - hosted tools (`web_search`, `file_search`, ...) have nothing a target could call: left out.
 */
export class ToolCatalog {
  private readonly byTargetName = new Map<string, ClientTool>();
  private readonly tools: Tool[] = [];

  constructor(tools: readonly ResponsesTool[]) {
    for (const tool of tools) {
      if (tool.type === 'function') this.add(tool as FunctionTool, undefined);
      else if (tool.type === 'custom') this.add(tool as CustomTool, undefined);
      else if (tool.type === 'namespace' && 'tools' in tool) {
        for (const member of tool.tools) this.add(member, tool.name);
      }
    }
  }

  targetTools(): Tool[] {
    return this.tools;
  }

  has(targetName: string): boolean {
    return this.byTargetName.has(targetName);
  }

  /** The client's view of a call the target made; an unknown name passes as a plain function. */
  clientTool(targetName: string): ClientTool {
    return this.byTargetName.get(targetName) ?? { kind: 'function', name: targetName };
  }

  /** The name the target knows a client tool by. */
  targetName(name: string, namespace: string | undefined): string {
    return namespace === undefined ? name : `${namespace}${NAMESPACE_SEPARATOR}${name}`;
  }

  private add(tool: FunctionTool | CustomTool, namespace: string | undefined): void {
    const name = this.targetName(tool.name, namespace);
    if (this.byTargetName.has(name)) return;
    const client: ClientTool = { kind: tool.type, name: tool.name, ...(namespace !== undefined ? { namespace } : {}) };
    this.byTargetName.set(name, client);
    this.tools.push(tool.type === 'function' ? functionTool(name, tool) : customAsFunction(name, tool));
  }
}

function functionTool(name: string, tool: FunctionTool): Tool {
  const schema = tool.parameters ?? { type: 'object', properties: {} };
  // Targets require an object schema at the top.
  const parameters = schema.type === undefined ? { type: 'object', ...schema } : schema;
  return { name, description: tool.description ?? '', parameters };
}

function customAsFunction(name: string, tool: CustomTool): Tool {
  const notes = [tool.description ?? '', 'This tool takes raw text, not JSON: put the whole text in the `input` string.'];
  const format = tool.format;
  if (format?.type === 'grammar' && format.definition) {
    notes.push(`The text must follow this ${format.syntax ? `${format.syntax} ` : ''}grammar:\n${format.definition}`);
  }
  return {
    name,
    description: notes.filter((n) => n !== '').join('\n\n'),
    parameters: {
      type: 'object',
      properties: { input: { type: 'string', description: `The raw input of ${tool.name}` } },
      required: ['input'],
      additionalProperties: false,
    },
  };
}
