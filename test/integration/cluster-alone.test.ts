// `GET /v1/cluster` of a veer without Redis: its one replica entry has the same fields as a Redis entry,
// the admin URL included (README: `replicas: [{id, seenAt, adminUrl}]`), so a script reads both alike.
import { describe, expect, it } from 'vitest';
import type { ClusterView } from '../../src/api/ports.js';
import { admin, deadPort, service, useHarness } from '../helpers/veer.js';

const h = useHarness();

describe('GET /v1/cluster alone', () => {
  it('lists this replica with the admin URL it is bound to, as self and leader', async () => {
    const v = await h.veer({ services: [service('web', [`127.0.0.1:${await deadPort()}`])] });
    const r = await admin<ClusterView>(v, 'GET', '/v1/cluster');
    expect(r.status).toBe(200);
    const { self, leader, replicas } = r.json;
    expect(leader).toBe(self);
    expect(replicas).toEqual([{ id: self, seenAt: expect.any(String), adminUrl: v.adminUrl }]);
  });
});
