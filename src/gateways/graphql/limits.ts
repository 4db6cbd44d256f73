import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { LIMITS } from '../../../protocol/limits.ts';
import { coded } from './errors.ts';

/** Bounds on the document's size, checked before validation (whose cost grows with it). */
export const DOCUMENT_LIMITS = {
  /** The document's text, in UTF-16 units: what fits a WebSocket frame fits a POST too. */
  sourceLength: 64 * 1024,
  /** Nesting of braces, brackets and parentheses in the source, checked before the (recursive) parser runs. */
  sourceNesting: 64,
  fields: 500,
  aliases: 50,
  operations: 10,
  rootFields: 20,
  /** Introspection lists (types, fields, args…) nested in one another: the standard introspection query needs 3. */
  introspectionLists: 3,
} as const;

/**
 * Deepest nesting of `{ ( [` in a GraphQL source, skipping strings, block strings and
 * comments; one linear scan that stops as soon as it passes `stopAt`.
 */
export function sourceNesting(source: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 35 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 10 && source.charCodeAt(i) !== 13) i++;
    } else if (c === 34 /* " */) {
      if (source.startsWith('"""', i)) {
        // A block string ends at the first """ not escaped as \""".
        let from = i + 3;
        let end = source.indexOf('"""', from);
        while (end > 0 && source.charCodeAt(end - 1) === 92) {
          from = end + 3;
          end = source.indexOf('"""', from);
        }
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source.charCodeAt(i) !== 34 && source.charCodeAt(i) !== 10; i++) if (source.charCodeAt(i) === 92) i++;
      }
    } else if (c === 123 || c === 40 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 125 || c === 41 || c === 93) depth--;
  }
  return max;
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);
const INTROSPECTION_LISTS = new Set(['types', 'fields', 'inputFields', 'interfaces', 'possibleTypes', 'enumValues', 'args', 'directives']);

/**
 * Size and shape of a parsed document, before it is validated: operations, field
 * selections, aliases, and depth (fragments followed, each measured once; cycles are left
 * to validation). Introspection subtrees do not count towards depth, but may nest at most
 * three lists. Answers the first limit passed, or null.
 */
export function checkShape(document: DocumentNode, maxDepth: number): GraphQLError | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION) operations.push(d);
  }
  if (operations.length > DOCUMENT_LIMITS.operations) {
    return coded('query_too_large', `The document holds ${operations.length} operations; at most ${DOCUMENT_LIMITS.operations}`);
  }

  let fields = 0;
  let aliases = 0;
  const memo = new Map<string, { depth: number; lists: number }>();
  const visiting = new Set<string>();
  const measure = (set: SelectionSetNode | undefined): { depth: number; lists: number } => {
    let depth = 0;
    let lists = 0;
    for (const s of set?.selections ?? []) {
      let sub: { depth: number; lists: number };
      if (s.kind === Kind.FIELD) {
        const inner = measure(s.selectionSet);
        const name = s.name.value;
        sub = INTROSPECTION_ROOTS.has(name)
          ? { depth: 1, lists: inner.lists }
          : { depth: 1 + inner.depth, lists: inner.lists + (INTROSPECTION_LISTS.has(name) ? 1 : 0) };
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        sub = measure(s.selectionSet);
      } else {
        const name = s.name.value;
        const known = memo.get(name);
        if (known) sub = known;
        else if (visiting.has(name) || !fragments.has(name)) sub = { depth: 0, lists: 0 };
        else {
          visiting.add(name);
          sub = measure(fragments.get(name)!.selectionSet);
          visiting.delete(name);
          memo.set(name, sub);
        }
      }
      depth = Math.max(depth, sub.depth);
      lists = Math.max(lists, sub.lists);
    }
    return { depth, lists };
  };
  // Counted over the text (each field node once), whatever fragments multiply it into.
  const count = (set: SelectionSetNode | undefined) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        fields++;
        if (s.alias) aliases++;
      }
      if (s.kind !== Kind.FRAGMENT_SPREAD) count(s.selectionSet);
    }
  };
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) count(d.selectionSet);
  if (fields > DOCUMENT_LIMITS.fields) return coded('query_too_large', `The document selects ${fields} fields; at most ${DOCUMENT_LIMITS.fields}`);
  if (aliases > DOCUMENT_LIMITS.aliases) return coded('query_too_large', `The document uses ${aliases} aliases; at most ${DOCUMENT_LIMITS.aliases}`);

  for (const op of operations) {
    const { depth, lists } = measure(op.selectionSet);
    if (depth > maxDepth) return coded('query_too_deep', `The operation nests ${depth} levels of fields; at most ${maxDepth}`, { maxDepth });
    if (lists > DOCUMENT_LIMITS.introspectionLists) {
      return coded('query_too_costly', `The introspection nests ${lists} lists; at most ${DOCUMENT_LIMITS.introspectionLists}`);
    }
  }
  return null;
}

/** List sizes the cost estimate assumes where no argument bounds them. */
const LIST_SIZES: Record<string, number> = {
  'Conversation.members': LIMITS.membersPerCall,
  'Message.attachments': LIMITS.attachmentsMax,
  'Message.reactions': 20,
  'ConversationEvent.reactions': 20,
};
const DEFAULT_LIST_SIZE = 10;

/**
 * The most objects the operation's answer may hold, from the validated document and the
 * coerced variables: a field yielding an object counts one per parent object; a list
 * counts its `first` (a connection's `edges` take their connection's `first`), the
 * length of a `userIds` argument, or the bound above. Scalars and introspection are free
 * (introspection is bounded by checkShape). Fragments are costed once each.
 */
export function estimateCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  // A fragment spread twice in a fragment spread twice… would otherwise be walked 2^n times.
  const memo = new Map<string, number>();

  const walk = (set: SelectionSetNode | undefined, parent: GraphQLNamedType, page: number): number => {
    if (!set || !isObjectType(parent)) return 0;
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        total += walk(s.selectionSet, s.typeCondition ? (schema.getType(s.typeCondition.name.value) ?? parent) : parent, page);
        continue;
      }
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(s.name.value);
        const key = `${s.name.value}|${page}`;
        let cost = memo.get(key);
        if (cost === undefined && f) {
          cost = walk(f.selectionSet, schema.getType(f.typeCondition.name.value) ?? parent, page);
          memo.set(key, cost);
        }
        total += cost ?? 0;
        continue;
      }
      if (s.name.value.startsWith('__')) continue;
      const def = parent.getFields()[s.name.value];
      if (!def) continue;
      const type = getNamedType(def.type);
      if (isLeafType(type)) continue;
      const args = getArgumentValues(def, s, variables) as { first?: unknown; userIds?: unknown };
      const first = typeof args.first === 'number' ? args.first : null;
      const unwrapped = isNonNullType(def.type) ? def.type.ofType : def.type;
      let size = 1;
      if (isListType(unwrapped)) {
        if (first !== null) size = first;
        else if (s.name.value === 'edges') size = page;
        else if (Array.isArray(args.userIds)) size = args.userIds.length;
        else size = LIST_SIZES[`${parent.name}.${s.name.value}`] ?? DEFAULT_LIST_SIZE;
      }
      total += size * (1 + walk(s.selectionSet, type, first ?? page));
    }
    return total;
  };
  return walk(operation.selectionSet, root, DEFAULT_LIST_SIZE);
}

/** Root fields the operation runs (fragments at the root expanded). */
export function rootFieldCount(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const count = (set: SelectionSetNode): number => {
    let n = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) n++;
      else if (s.kind === Kind.INLINE_FRAGMENT) n += count(s.selectionSet);
      else if (!seen.has(s.name.value) && fragments.has(s.name.value)) {
        seen.add(s.name.value);
        n += count(fragments.get(s.name.value)!.selectionSet);
      }
    }
    return n;
  };
  return count(operation.selectionSet);
}
