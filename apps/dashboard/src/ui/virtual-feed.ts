import { h } from './dom';

export interface VirtualFeedOptions<T> {
  /** Builds the element of one item; it may change height later (then call `remeasure`). */
  renderItem(item: T, index: number): HTMLElement;
  /** A first guess of an item's height in px, until it has been rendered and measured. */
  estimateHeight(item: T): number;
  /** Items rendered above and below the visible ones. */
  overscan?: number;
}

/**
 * A windowed list of items of varying height: only the items in view (plus a few around them) are in
 * the DOM, positioned over a spacer as tall as the whole list, so a feed of a hundred thousand events
 * costs what one of fifty does. Heights are guessed, then measured once an item has been rendered.
 * While scrolled to the bottom it follows new items; otherwise it keeps the reader's place, also when
 * older items are put in front (`prepend`). Near the top it asks for older items (`onNearTop`).
 */
export class VirtualFeed<T> {
  readonly element: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly items: T[] = [];
  private readonly heights: number[] = [];
  private offsets: number[] = [0];
  private offsetsValidUpTo = 0;
  private readonly rendered = new Map<number, HTMLElement>();
  private frame = 0;
  private following = true;
  private readonly overscan: number;
  onFollowChange: ((following: boolean) => void) | undefined;
  /** Called after a render that leaves the view within one screen of the top (older items may be loaded). */
  onNearTop: (() => void) | undefined;

  constructor(private readonly options: VirtualFeedOptions<T>) {
    this.overscan = options.overscan ?? 6;
    this.spacer = h('div', { class: 'feed-spacer' });
    this.element = h('div', { class: 'feed', role: 'log', 'aria-live': 'polite', tabindex: 0 }, this.spacer);
    this.element.addEventListener('scroll', () => {
      const atBottom = this.element.scrollTop + this.element.clientHeight >= this.element.scrollHeight - 24;
      if (atBottom !== this.following) {
        this.following = atBottom;
        this.onFollowChange?.(atBottom);
      }
      this.schedule();
    });
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  get length(): number {
    return this.items.length;
  }

  get isFollowing(): boolean {
    return this.following;
  }

  append(items: readonly T[]): void {
    if (items.length === 0) return;
    for (const item of items) {
      this.items.push(item);
      this.heights.push(this.options.estimateHeight(item));
    }
    this.schedule();
  }

  /**
   * Puts older items in front. What the reader sees stays where it is: the scroll position moves down
   * by the new items' (estimated) height. Rendered rows are dropped, as their indices shifted.
   */
  prepend(items: readonly T[]): void {
    if (items.length === 0) return;
    for (const element of this.rendered.values()) element.remove();
    this.rendered.clear();
    const heights = items.map((item) => this.options.estimateHeight(item));
    this.items.unshift(...items);
    this.heights.unshift(...heights);
    this.offsets = [0];
    this.offsetsValidUpTo = 0;
    this.spacer.style.height = `${this.offsetOf(this.items.length)}px`;
    if (!this.following) this.element.scrollTop += heights.reduce((sum, height) => sum + height, 0);
    this.schedule();
  }

  /** Replaces every item (a filter changed); keeps following if it was. */
  replaceAll(items: readonly T[]): void {
    for (const element of this.rendered.values()) element.remove();
    this.rendered.clear();
    this.items.length = 0;
    this.heights.length = 0;
    this.offsets = [0];
    this.offsetsValidUpTo = 0;
    this.append(items);
    this.schedule();
  }

  /** The item at `index` changed height (expanded, collapsed): measure it again. */
  remeasure(index: number): void {
    const element = this.rendered.get(index);
    if (element) this.setHeight(index, element.offsetHeight);
    this.schedule();
  }

  scrollToBottom(): void {
    this.following = true;
    this.onFollowChange?.(true);
    this.schedule();
  }

  scrollToTop(): void {
    this.following = false;
    this.onFollowChange?.(false);
    this.element.scrollTop = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private offsetOf(index: number): number {
    for (let i = this.offsetsValidUpTo; i < index; i += 1) this.offsets[i + 1] = this.offsets[i]! + this.heights[i]!;
    if (index > this.offsetsValidUpTo) this.offsetsValidUpTo = index;
    return this.offsets[index]!;
  }

  private setHeight(index: number, height: number): number {
    const delta = height - this.heights[index]!;
    if (delta !== 0) {
      this.heights[index] = height;
      this.offsetsValidUpTo = Math.min(this.offsetsValidUpTo, index);
    }
    return delta;
  }

  /** The first item whose bottom is below `y` (binary search over the offsets). */
  private indexAt(y: number): number {
    const count = this.items.length;
    this.offsetOf(count);
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.offsets[mid + 1]! <= y) low = mid + 1;
      else high = mid;
    }
    return Math.max(0, low);
  }

  private render(): void {
    const count = this.items.length;
    this.spacer.style.height = `${this.offsetOf(count)}px`;
    if (this.following) this.element.scrollTop = this.element.scrollHeight;
    const top = this.element.scrollTop;
    const first = count === 0 ? 0 : this.indexAt(top);
    let last = first;
    const bottom = top + this.element.clientHeight;
    while (last < count - 1 && this.offsetOf(last + 1) < bottom) last += 1;
    const from = Math.max(0, first - this.overscan);
    const to = Math.min(count - 1, last + this.overscan);

    for (const [index, element] of this.rendered) {
      if (index < from || index > to) {
        element.remove();
        this.rendered.delete(index);
      }
    }
    const added: number[] = [];
    for (let index = from; index <= to && count > 0; index += 1) {
      if (this.rendered.has(index)) continue;
      const element = this.options.renderItem(this.items[index]!, index);
      element.classList.add('feed-item');
      element.dataset['index'] = String(index);
      this.spacer.appendChild(element);
      this.rendered.set(index, element);
      added.push(index);
    }
    // Measure what was just added; items above the first visible one keep the reader's place.
    let shiftAbove = 0;
    let guessedWrong = false;
    for (const index of added) {
      const delta = this.setHeight(index, this.rendered.get(index)!.offsetHeight);
      if (delta !== 0) guessedWrong = true;
      if (index < first) shiftAbove += delta;
    }
    for (const [index, element] of this.rendered) element.style.transform = `translateY(${this.offsetOf(index)}px)`;
    this.spacer.style.height = `${this.offsetOf(count)}px`;
    if (this.following) this.element.scrollTop = this.element.scrollHeight;
    else if (shiftAbove !== 0) this.element.scrollTop += shiftAbove;
    // Measured heights differ from the guesses: the window may now show more or fewer items. Render
    // again on the next frame, a few times at most, so the guesses converge without looping.
    if (guessedWrong && this.settling < 4) {
      this.settling += 1;
      this.schedule();
    } else {
      this.settling = 0;
    }
    if (this.element.scrollTop < Math.max(this.element.clientHeight, 200)) this.onNearTop?.();
  }

  private settling = 0;
}
