// The stream's buffer cap against a response whose backlog the test sets: a reader that keeps up with
// frames larger than the cap is never cut (a keepalive behind a draining frame included), one that stops is.
import { EventEmitter } from 'node:events';
import type { FastifyReply } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_BUFFERED_BYTES, openStream } from '../../../src/api/sse.js';

class FakeResponse extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  readonly written: string[] = [];
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.written.push(text);
    this.writableLength += Buffer.byteLength(text);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  end(): void {
    this.emit('close');
  }
  /** The reader took everything. */
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('openStream', () => {
  it('a keepalive behind a frame larger than the cap waits; a reader that keeps up gets every frame', () => {
    vi.useFakeTimers();
    const res = new FakeResponse();
    const stream = openStream({ hijack: () => undefined, raw: res } as unknown as FastifyReply, 10);
    const frame = 'x'.repeat(2 * MAX_BUFFERED_BYTES);
    for (let i = 0; i < 3; i++) {
      stream.write(frame);
      vi.advanceTimersByTime(50);
      expect(res.destroyed).toBe(false);
      res.drain();
    }
    expect(res.written.filter((t) => t === frame)).toHaveLength(3);
    vi.advanceTimersByTime(10);
    expect(res.written.at(-1)).toMatch(/^:/);
    stream.end();
  });

  it('a reader that stops is cut when the next frame is due behind more than the cap', () => {
    vi.useFakeTimers();
    const res = new FakeResponse();
    const stream = openStream({ hijack: () => undefined, raw: res } as unknown as FastifyReply, 10);
    stream.write('x'.repeat(MAX_BUFFERED_BYTES + 1));
    expect(res.destroyed).toBe(false);
    stream.write('next');
    expect(res.destroyed).toBe(true);
  });
});
