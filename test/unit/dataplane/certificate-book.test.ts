import type { SecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CertificateBook } from '../../../src/dataplane/certificate-book.js';

// The book only hands contexts back: distinct tokens are enough to tell which one was chosen.
const ctx = (name: string): SecureContext => ({ name }) as unknown as SecureContext;
const [A, WILD, B, FALLBACK] = [ctx('a'), ctx('wild'), ctx('b'), ctx('fallback')];

describe('CertificateBook', () => {
  it('prefers an exact name over a wildcard, whatever their order', () => {
    const book = new CertificateBook();
    book.put('tls.certificates[0]', { names: ['*.example.com'], context: WILD });
    book.put('tls.certificates[1]', { names: ['api.example.com'], context: A });
    expect(book.lookup('api.example.com')).toBe(A);
    expect(book.lookup('API.Example.com.')).toBe(A);
    expect(book.lookup('www.example.com')).toBe(WILD);
  });

  it('lets a wildcard cover exactly one label, not the bare domain or deeper names', () => {
    const book = new CertificateBook();
    book.put('s', { names: ['*.example.com'], context: WILD });
    expect(book.lookup('example.com')).toBeUndefined();
    expect(book.lookup('a.b.example.com')).toBeUndefined();
    expect(book.covers('x.example.com')).toBe(true);
  });

  it('falls back to the default certificate, which does not make a name covered', () => {
    const book = new CertificateBook();
    book.put('s', { names: ['a.test'], context: A });
    expect(book.lookup('other.test')).toBeUndefined();
    let changes = 0;
    book.onDefaultChange(() => changes++);
    book.setDefault({ context: FALLBACK, cert: 'c', key: 'k' });
    expect(book.lookup('other.test')).toBe(FALLBACK);
    expect(book.covers('other.test')).toBe(false);
    expect(changes).toBe(1);
  });

  it('replaces and removes by source; an earlier source keeps a shared name', () => {
    const book = new CertificateBook();
    book.put('first', { names: ['a.test'], context: A });
    book.put('acme:a.test', { names: ['a.test', 'b.test'], context: B });
    expect([book.lookup('a.test'), book.lookup('b.test')]).toEqual([A, B]);
    book.put('first', { names: ['c.test'], context: A });
    expect(book.lookup('a.test')).toBe(B);
    book.remove('acme:a.test');
    expect([book.lookup('a.test'), book.lookup('c.test')]).toEqual([undefined, A]);
  });

  it('a yielding source (ACME) gives way to configured ones whatever the order, and does not count as firm', () => {
    const book = new CertificateBook();
    book.put('acme:a.test', { names: ['a.test'], context: B, yields: true });
    expect(book.lookup('a.test')).toBe(B);
    expect(book.coversFirmly('a.test')).toBe(false);
    book.put('tls.certificates[0]', { names: ['a.test'], context: A });
    expect(book.lookup('a.test')).toBe(A);
    expect(book.coversFirmly('a.test')).toBe(true);
    book.put('tls.certificates[1]', { names: ['*.example.com'], context: WILD });
    expect([book.coversFirmly('x.example.com'), book.coversFirmly('example.com')]).toEqual([true, false]);
  });
});
