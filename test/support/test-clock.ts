import type { Clock } from '../../src';

/** A clock the test moves by hand: expiry and polling intervals without sleeping. */
export class TestClock implements Clock {
  private current = Date.UTC(2026, 11, 3, 12, 0, 0);

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
