import { useRef, useSyncExternalStore } from 'react';
import type { ReadableStore } from '../store.ts';

/**
 * useSyncExternalStore with a selector: the component re-renders only when what it
 * selects changes (by `isEqual`), not whenever the store does. A new message in one
 * conversation therefore re-renders neither another conversation's list nor a typing
 * indicator.
 */
export function useStore<T, S>(store: ReadableStore<T>, selector: (state: T) => S, isEqual: (a: S, b: S) => boolean = Object.is): S {
  const memo = useRef<{ state: T; selector: (state: T) => S; selected: S } | null>(null);
  const select = () => {
    const state = store.get();
    const last = memo.current;
    if (last && last.state === state && last.selector === selector) return last.selected;
    const next = selector(state);
    // Equal to the last answer: hand back the same object, so React sees no change.
    const selected = last && isEqual(last.selected, next) ? last.selected : next;
    memo.current = { state, selector, selected };
    return selected;
  };
  return useSyncExternalStore(store.subscribe, select, select);
}

/** Same items, in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/** Same keys with the same values. */
export function sameRecord<T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.is(a[k], b[k]));
}
