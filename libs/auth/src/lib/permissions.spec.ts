import { ACTIONS, ANONYMOUS, GRANTS, authorize, narrowSubscription, type Action, type Principal } from './permissions';

const principal = (kind: Principal['kind'], sandboxes: Principal['sandboxes']): Principal => ({
  kind,
  subject: 'x',
  sandboxes,
  expiresAt: new Date(Date.now() + 60_000),
  tokenId: null,
});

describe('authorize', () => {
  const everyAction = Object.values(ACTIONS) as Action[];

  it('grants each kind exactly its actions', () => {
    expect([...GRANTS.sandbox].sort()).toEqual(['events:write', 'messages:drain', 'task:report', 'token:renew']);
    expect([...GRANTS.viewer].sort()).toEqual(['events:read', 'tasks:read']);
    expect([...GRANTS.operator].sort()).toEqual([
      'branches:manage',
      'events:read',
      'messages:drain',
      'messages:send',
      'task:report',
      'tasks:manage',
      'tasks:read',
    ]);
    for (const action of everyAction) {
      expect(authorize(principal('sandbox', new Set(['a'])), action, 'a').allowed).toBe(GRANTS.sandbox.has(action));
      expect(authorize(principal('operator', '*'), action, 'a').allowed).toBe(GRANTS.operator.has(action));
    }
  });

  it('confines every kind to its sandboxes', () => {
    const sandbox = principal('sandbox', new Set(['a']));
    expect(authorize(sandbox, ACTIONS.EVENTS_WRITE, 'b')).toEqual({
      allowed: false,
      reason: 'this sandbox token is not scoped to sandbox b',
    });
    expect(authorize(principal('viewer', new Set(['a'])), ACTIONS.EVENTS_READ, 'b').allowed).toBe(false);
    expect(authorize(principal('operator', new Set(['a'])), ACTIONS.MESSAGES_SEND, 'b').allowed).toBe(false);
    expect(authorize(principal('operator', '*'), ACTIONS.MESSAGES_SEND, 'anything').allowed).toBe(true);
    expect(authorize(principal('viewer', '*'), ACTIONS.MESSAGES_SEND, 'a')).toEqual({
      allowed: false,
      reason: 'a viewer token may not messages:send',
    });
    // Tasks and tickets name no sandbox: only an operator for every sandbox may touch them.
    expect(authorize(principal('operator', new Set(['a'])), ACTIONS.TASKS_MANAGE)).toEqual({
      allowed: false,
      reason: 'tasks:manage needs a token for every sandbox ("*")',
    });
    expect(authorize(principal('operator', new Set(['a'])), ACTIONS.BRANCHES_MANAGE).allowed).toBe(false);
    expect(authorize(principal('operator', '*'), ACTIONS.BRANCHES_MANAGE).allowed).toBe(true);
  });

  it('lets anonymous (auth off) do everything', () => {
    for (const action of everyAction) expect(authorize(ANONYMOUS, action, 'a').allowed).toBe(true);
  });
});

describe('narrowSubscription: a viewer never widens past its scope', () => {
  const viewer = principal('viewer', new Set(['a', 'b']));
  const cases: Array<[string, { entityTypes: string[]; entityIds: string[] }, ReturnType<typeof narrowSubscription>]> =
    [
      [
        'no filter → exactly its sandboxes',
        { entityTypes: [], entityIds: [] },
        { allowed: true, entityTypes: ['sandbox'], entityIds: ['a', 'b'], sandboxes: ['a', 'b'] },
      ],
      [
        'ids outside the scope are dropped',
        { entityTypes: [], entityIds: ['a', 'zz'] },
        { allowed: true, entityTypes: ['sandbox'], entityIds: ['a'], sandboxes: ['a'] },
      ],
      [
        'task entities are narrowed to sandbox',
        { entityTypes: ['sandbox', 'task'], entityIds: [] },
        { allowed: true, entityTypes: ['sandbox'], entityIds: ['a', 'b'], sandboxes: ['a', 'b'] },
      ],
      [
        'only foreign ids → refused',
        { entityTypes: [], entityIds: ['zz'] },
        { allowed: false, reason: 'this token may watch none of the requested sandboxes' },
      ],
      [
        'only other entity types → refused',
        { entityTypes: ['task'], entityIds: [] },
        { allowed: false, reason: 'this token may watch sandbox entities only' },
      ],
    ];
  it.each(cases)('%s', (_name, requested, expected) => {
    expect(narrowSubscription(viewer, requested)).toEqual(expected);
  });

  it("leaves an unscoped viewer's filter alone and refuses a sandbox token outright", () => {
    expect(narrowSubscription(principal('viewer', '*'), { entityTypes: ['task'], entityIds: [] })).toEqual({
      allowed: true,
      entityTypes: ['task'],
      entityIds: [],
      sandboxes: '*',
    });
    expect(narrowSubscription(principal('sandbox', new Set(['a'])), { entityTypes: [], entityIds: ['a'] })).toEqual({
      allowed: false,
      reason: 'a sandbox token may not events:read',
    });
  });
});
