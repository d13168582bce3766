// A paused client's progress, as the deadline sweep sees it (Downstream.tookBytes): bytes it took since the
// last look move the time it last moved; a look that finds as many bytes waiting leaves it where it was, so
// its bound (overdue's 'client') runs from its last progress, not from each look. And h2c answers (never
// paused) report their backlog to the budget until they drain, and are cut past it.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BacklogBudget } from '../../../src/dataplane/backlog-budget.js';
import { Downstream } from '../../../src/dataplane/downstream.js';
import type { FrontResponse } from '../../../src/dataplane/front.js';

/** A client's connection whose unsent bytes the test sets; every write says "slow". */
class SlowClient extends EventEmitter {
  headersSent = true;
  statusCode = 200;
  writableFinished = false;
  writableLength = 0;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(chunk: Buffer): boolean {
    this.writableLength += chunk.length;
    return false;
  }
  end(): this {
    return this;
  }
  addTrailers(): void {}
  cork(): void {}
  uncork(): void {}
  destroy(): this {
    this.destroyed = true;
    this.writableLength = 0;
    return this;
  }
}

const downstream = (res: SlowClient, neverPause = false, budget?: BacklogBudget): Downstream =>
  new Downstream(res as unknown as FrontResponse, '1.1 veer', null, neverPause, budget);

describe('Downstream', () => {
  it('marks when a paused client last took bytes: only fewer bytes waiting at a look count', () => {
    const res = new SlowClient();
    const d = downstream(res);
    expect(d.write(Buffer.alloc(1000))).toBe(false);
    expect(d.paused).toBe(true);
    const pausedAt = d.movedAt;
    d.tookBytes(pausedAt + 500);
    expect(d.movedAt).toBe(pausedAt);
    res.writableLength = 400;
    d.tookBytes(pausedAt + 900);
    expect(d.movedAt).toBe(pausedAt + 900);
    d.tookBytes(pausedAt + 1_800);
    expect(d.movedAt).toBe(pausedAt + 900);
    res.emit('drain');
    expect(d.paused).toBe(false);
  });

  it('an h2c answer is never paused: its backlog goes to the budget until it drains, and past it is cut', () => {
    const budget = new BacklogBudget(10_000);
    const [a, b] = [new SlowClient(), new SlowClient()];
    const [da, db] = [downstream(a, true, budget), downstream(b, true, budget)];
    expect(da.write(Buffer.alloc(6_000))).toBe(true);
    expect(db.write(Buffer.alloc(3_000))).toBe(true);
    expect(budget.total).toBe(9_000);
    a.writableLength = 0;
    a.emit('drain');
    expect(budget.total).toBe(3_000);
    // b is now the largest backlog: past the budget, it is the one cut, whoever wrote.
    da.write(Buffer.alloc(2_000));
    db.write(Buffer.alloc(6_000));
    expect([a.destroyed, b.destroyed]).toEqual([false, true]);
    expect(budget.total).toBe(2_000);
    b.emit('close');
    expect(budget.total).toBe(2_000);
  });
});
