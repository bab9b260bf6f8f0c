/** A level-less "something changed" signal: `wait()` resolves at the next `notify()`. */
export class Wakeup {
  private waiters: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    this.waiters.splice(0).forEach((resolve) => resolve());
  }
}
