import { forwardRef, type ReactNode, type UIEvent, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from 'react';

export interface VirtualListHandle {
  scrollToBottom(): void;
  /** Brings the row with this key into view (near the top third). */
  scrollToKey(key: string): boolean;
}

interface Props<T> {
  items: readonly T[];
  keyOf(item: T): string;
  /** Height guessed for a row not yet measured. */
  estimate: number;
  renderRow(item: T, index: number): ReactNode;
  /** Called when the top comes within a screen of view (load older history). */
  onNearTop?(): void;
  onAtBottomChange?(atBottom: boolean): void;
  /** Where to start: the key of the row to show first (a read marker), else the bottom. */
  startAt?: string | null;
  label: string;
  header?: ReactNode;
  /** Rows the view may hold still around (default all); a date separator that moves up as older rows arrive may not. */
  canAnchor?(item: T): boolean;
}

const OVERSCAN_PX = 800;
const BOTTOM_SLACK_PX = 40;

/** The first index whose row ends below `y`. */
function firstEndingBelow(offsets: Float64Array, heights: Float64Array, y: number): number {
  let lo = 0;
  let hi = heights.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! + heights[mid]! <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A chat-style list that renders only the rows near the viewport, so a conversation of
 * 10,000 messages keeps a few dozen in the DOM. Rows have their real (measured) heights;
 * what is on screen stays put when rows above it are added (older history) or change
 * height, and the view follows new rows while it is at the bottom.
 */
function VirtualListInner<T>(props: Props<T>, ref: React.ForwardedRef<VirtualListHandle>) {
  const { items, keyOf, estimate, renderRow, onNearTop, onAtBottomChange, startAt, label, header, canAnchor } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const measured = useRef(new Map<string, number>());
  const [version, setVersion] = useState(0);
  const [viewport, setViewport] = useState({ top: 0, height: 0 });
  const atBottom = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const started = useRef(false);
  const headerHeight = useRef(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` changes when a measured height does
  const layout = useMemo(() => {
    const heights = new Float64Array(items.length);
    const offsets = new Float64Array(items.length);
    let y = headerHeight.current;
    const index = new Map<string, number>();
    items.forEach((item, i) => {
      const key = keyOf(item);
      index.set(key, i);
      heights[i] = measured.current.get(key) ?? estimate;
      offsets[i] = y;
      y += heights[i]!;
    });
    return { heights, offsets, total: y, index };
  }, [items, keyOf, estimate, version]);

  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            let changed = false;
            for (const entry of entries) {
              const el = entry.target as HTMLElement;
              const key = el.dataset.key!;
              const h = el.offsetHeight;
              if (key === '\u0000header') {
                if (h !== headerHeight.current) {
                  headerHeight.current = h;
                  changed = true;
                }
              } else if (h > 0 && measured.current.get(key) !== h) {
                measured.current.set(key, h);
                changed = true;
              }
            }
            if (changed) setVersion((v) => v + 1);
          }),
    [],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);

  const measure = useCallback(
    (el: HTMLDivElement | null) => {
      if (el && observer) observer.observe(el);
    },
    [observer],
  );

  const rememberAnchor = useCallback(() => {
    const el = scroller.current;
    if (!el || items.length === 0) return;
    let i = firstEndingBelow(layout.offsets, layout.heights, el.scrollTop);
    while (canAnchor && i < items.length - 1 && !canAnchor(items[i]!)) i++;
    const item = items[i];
    if (item !== undefined) anchor.current = { key: keyOf(item), delta: layout.offsets[i]! - el.scrollTop };
  }, [items, keyOf, layout, canAnchor]);

  // After every layout change: stick to the bottom, or keep the anchored row where it was.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || items.length === 0) return;
    if (!started.current) {
      started.current = true;
      const i = startAt ? layout.index.get(startAt) : undefined;
      if (i !== undefined && layout.offsets[i]! + el.clientHeight < layout.total) {
        atBottom.current = false;
        el.scrollTop = Math.max(0, layout.offsets[i]! - el.clientHeight / 3);
      } else {
        el.scrollTop = layout.total;
      }
    } else if (atBottom.current) {
      el.scrollTop = layout.total;
    } else if (anchor.current) {
      const i = layout.index.get(anchor.current.key);
      if (i !== undefined) el.scrollTop = layout.offsets[i]! - anchor.current.delta;
    }
    rememberAnchor();
    setViewport((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight }));
    // Not enough to scroll (a tall window, short messages): nothing will ever scroll up, so ask now.
    if (layout.total <= el.clientHeight) onNearTop?.();
  }, [layout, items.length, startAt, rememberAnchor, onNearTop]);

  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    if (bottom !== atBottom.current) {
      atBottom.current = bottom;
      onAtBottomChange?.(bottom);
    }
    rememberAnchor();
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < el.clientHeight) onNearTop?.();
  };

  useImperativeHandle(
    ref,
    () => ({
      scrollToBottom() {
        const el = scroller.current;
        if (!el) return;
        atBottom.current = true;
        onAtBottomChange?.(true);
        el.scrollTop = el.scrollHeight;
      },
      scrollToKey(key) {
        const el = scroller.current;
        const i = layout.index.get(key);
        if (!el || i === undefined) return false;
        atBottom.current = false;
        el.scrollTop = Math.max(0, layout.offsets[i]! - el.clientHeight / 3);
        return true;
      },
    }),
    [layout, onAtBottomChange],
  );

  const height = viewport.height || 800;
  const from = items.length ? firstEndingBelow(layout.offsets, layout.heights, Math.max(0, viewport.top - OVERSCAN_PX)) : 0;
  let to = from;
  while (to < items.length && layout.offsets[to]! < viewport.top + height + OVERSCAN_PX) to++;

  // Few rows: they sit at the bottom, above the composer, as in every chat.
  const pad = Math.max(0, viewport.height - layout.total);
  const rows: ReactNode[] = [];
  for (let i = from; i < to; i++) {
    const item = items[i]!;
    const key = keyOf(item);
    rows.push(
      <div key={key} data-key={key} ref={measure} className="vrow" style={{ transform: `translateY(${layout.offsets[i]! + pad}px)` }}>
        {renderRow(item, i)}
      </div>,
    );
  }

  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the message log scrolls with the keyboard
    <section ref={scroller} className="messages" aria-label={label} tabIndex={0} onScroll={onScroll}>
      <div className="vlist-inner" style={{ height: layout.total + pad }}>
        {header !== undefined && (
          <div data-key={'\u0000header'} ref={measure} className="vrow" style={{ transform: `translateY(${pad}px)` }}>
            {header}
          </div>
        )}
        {rows}
      </div>
    </section>
  );
}

export const VirtualList = forwardRef(VirtualListInner) as <T>(props: Props<T> & { ref?: React.Ref<VirtualListHandle> }) => ReturnType<typeof VirtualListInner>;
