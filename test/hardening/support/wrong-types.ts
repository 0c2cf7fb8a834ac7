/**
 * Systematic wrong-typed values for the Anthropic Messages request: for every top-level field and
 * every field of every content block, each JSON type the field does not take.
 */
export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

const SAMPLES: Record<JsonType, unknown> = {
  null: null,
  boolean: true,
  integer: 7,
  number: 1.5,
  string: 'seven',
  array: [1, 'two'],
  object: { nested: true },
};

export interface WrongTypeCase {
  name: string;
  body: Record<string, unknown>;
  /** Dotted path the error message must name. */
  path: string;
  /** The field tolerates this value on purpose (null meaning "absent", numbers as strings, ...). */
  tolerated: boolean;
}

interface FieldSpec {
  field: string;
  accepts: JsonType[];
  /** Wrong types accepted on purpose (documented leniency). */
  tolerates?: JsonType[];
}

const user = (content: unknown) => ({ role: 'user', content });
const assistant = (content: unknown) => ({ role: 'assistant', content });

export function baseRequest(): Record<string, unknown> {
  return { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user('hi')] };
}

// `integer` and `number` are told apart: 1.5 is a wrong type for an integer field.
const TOP_LEVEL: FieldSpec[] = [
  { field: 'model', accepts: ['string'], tolerates: ['null'] },
  { field: 'max_tokens', accepts: ['integer'] },
  { field: 'messages', accepts: ['array'] },
  { field: 'system', accepts: ['string', 'array'] },
  { field: 'tools', accepts: ['array'] },
  { field: 'tool_choice', accepts: ['object'] },
  { field: 'temperature', accepts: ['number', 'integer'] },
  { field: 'top_p', accepts: ['number'] },
  { field: 'top_k', accepts: ['integer'] },
  { field: 'stop_sequences', accepts: ['array'] },
  { field: 'stream', accepts: ['boolean'] },
  { field: 'metadata', accepts: ['object'], tolerates: ['null'] },
  { field: 'thinking', accepts: ['object'], tolerates: ['null'] },
  { field: 'output_config', accepts: ['object'], tolerates: ['null'] },
  { field: 'effort', accepts: ['string'], tolerates: ['null'] },
];

interface BlockSpec {
  name: string;
  /** Builds the request around one block whose field `field` is replaced by `value`. */
  wrap: (block: Record<string, unknown>) => unknown[];
  /** Path of the block in the request. */
  at: string;
  block: Record<string, unknown>;
  fields: FieldSpec[];
}

const TOOL_USE = { type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'ls' } };

const BLOCKS: BlockSpec[] = [
  { name: 'text', at: 'messages.0.content.0', wrap: (b) => [user([b])], block: { type: 'text', text: 'hi' }, fields: [{ field: 'type', accepts: ['string'] }, { field: 'text', accepts: ['string'] }] },
  {
    name: 'image',
    at: 'messages.0.content.0',
    wrap: (b) => [user([b])],
    block: { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    fields: [{ field: 'source', accepts: ['object'] }],
  },
  {
    name: 'image source',
    at: 'messages.0.content.0.source',
    wrap: (b) => [user([{ type: 'image', source: b }])],
    block: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
    fields: [{ field: 'type', accepts: ['string'] }, { field: 'media_type', accepts: ['string'] }, { field: 'data', accepts: ['string'] }],
  },
  {
    name: 'document',
    at: 'messages.0.content.0',
    wrap: (b) => [user([b])],
    block: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'notes' }, title: 't', context: 'c' },
    fields: [
      { field: 'source', accepts: ['object'] },
      { field: 'title', accepts: ['string'], tolerates: ['null'] },
      { field: 'context', accepts: ['string'], tolerates: ['null'] },
    ],
  },
  {
    name: 'document source',
    at: 'messages.0.content.0.source',
    wrap: (b) => [user([{ type: 'document', source: b }])],
    block: { type: 'text', media_type: 'text/plain', data: 'notes' },
    // A missing or odd media type falls back to the source type's default.
    fields: [{ field: 'type', accepts: ['string'] }, { field: 'data', accepts: ['string'] }, { field: 'media_type', accepts: ['string'], tolerates: ['null', 'boolean', 'integer', 'number', 'array', 'object'] }],
  },
  {
    name: 'search_result',
    at: 'messages.0.content.0',
    wrap: (b) => [user([b])],
    block: { type: 'search_result', source: 'https://example.com', title: 'r', content: [{ type: 'text', text: 'x' }] },
    fields: [{ field: 'source', accepts: ['string'] }, { field: 'title', accepts: ['string'] }, { field: 'content', accepts: ['array'] }],
  },
  {
    name: 'tool_result',
    at: 'messages.2.content.0',
    wrap: (b) => [user('run ls'), assistant([TOOL_USE]), user([b])],
    block: { type: 'tool_result', tool_use_id: 'toolu_01', content: 'file.txt', is_error: false },
    fields: [
      { field: 'tool_use_id', accepts: ['string'] },
      { field: 'content', accepts: ['string', 'array'], tolerates: ['null'] },
      { field: 'is_error', accepts: ['boolean'], tolerates: ['null'] },
    ],
  },
  {
    name: 'tool_use',
    at: 'messages.1.content.0',
    wrap: (b) => [user('run ls'), assistant([b]), user([{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'ok' }])],
    block: TOOL_USE,
    fields: [{ field: 'id', accepts: ['string'] }, { field: 'name', accepts: ['string'] }, { field: 'input', accepts: ['object'], tolerates: ['null'] }],
  },
  {
    name: 'thinking',
    at: 'messages.1.content.0',
    wrap: (b) => [user('q'), assistant([b, { type: 'text', text: 'a' }]), user('again')],
    block: { type: 'thinking', thinking: 'hmm', signature: 'sig' },
    fields: [{ field: 'thinking', accepts: ['string'] }, { field: 'signature', accepts: ['string'], tolerates: ['null'] }],
  },
  {
    name: 'redacted_thinking',
    at: 'messages.1.content.0',
    wrap: (b) => [user('q'), assistant([b, { type: 'text', text: 'a' }]), user('again')],
    block: { type: 'redacted_thinking', data: 'opaque' },
    fields: [{ field: 'data', accepts: ['string'] }],
  },
  {
    name: 'message',
    at: 'messages.0',
    wrap: (b) => [b],
    block: { role: 'user', content: 'hi' },
    fields: [{ field: 'role', accepts: ['string'] }, { field: 'content', accepts: ['string', 'array'] }],
  },
  {
    name: 'tool definition',
    at: 'tools.0',
    wrap: () => [user('hi')],
    block: { name: 'Bash', description: 'shell', input_schema: { type: 'object', properties: {} } },
    fields: [
      { field: 'name', accepts: ['string'] },
      { field: 'description', accepts: ['string'], tolerates: ['null'] },
      { field: 'input_schema', accepts: ['object'] },
      { field: 'defer_loading', accepts: ['boolean'], tolerates: ['null'] },
    ],
  },
  {
    name: 'tool_choice',
    at: 'tool_choice',
    wrap: () => [user('hi')],
    block: { type: 'tool', name: 'Bash', disable_parallel_tool_use: true },
    fields: [{ field: 'type', accepts: ['string'] }, { field: 'name', accepts: ['string'] }, { field: 'disable_parallel_tool_use', accepts: ['boolean'], tolerates: ['null'] }],
  },
  {
    name: 'thinking config',
    at: 'thinking',
    wrap: () => [user('hi')],
    block: { type: 'enabled', budget_tokens: 2048 },
    fields: [{ field: 'type', accepts: ['string'] }, { field: 'budget_tokens', accepts: ['integer'] }],
  },
];

const TYPES = Object.keys(SAMPLES) as JsonType[];

function wrongFor(spec: FieldSpec): JsonType[] {
  const accepts = new Set(spec.accepts);
  // An integer is also a number.
  if (accepts.has('number')) accepts.add('integer');
  return TYPES.filter((t) => !accepts.has(t));
}

export function wrongTypeCases(): WrongTypeCase[] {
  const cases: WrongTypeCase[] = [];
  for (const spec of TOP_LEVEL) {
    for (const type of wrongFor(spec)) {
      cases.push({
        name: `${spec.field} as ${type}`,
        body: { ...baseRequest(), [spec.field]: SAMPLES[type] },
        path: spec.field,
        tolerated: spec.tolerates?.includes(type) ?? false,
      });
    }
  }
  for (const block of BLOCKS) {
    for (const spec of block.fields) {
      for (const type of wrongFor(spec)) {
        const mutated = { ...block.block, [spec.field]: SAMPLES[type] };
        const body = baseRequest();
        if (block.at.startsWith('messages')) body.messages = block.wrap(mutated);
        else if (block.at === 'tools.0') body.tools = [mutated];
        else body[block.at] = mutated;
        if (block.at === 'tool_choice') body.tools = [{ name: 'Bash', input_schema: { type: 'object' } }];
        cases.push({
          name: `${block.name}.${spec.field} as ${type}`,
          body,
          path: `${block.at}.${spec.field}`,
          tolerated: spec.tolerates?.includes(type) ?? false,
        });
      }
    }
  }
  return cases;
}
