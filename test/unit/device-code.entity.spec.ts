import { DeviceCode, DeviceCodeAction, DeviceCodeStatus, IllegalDeviceCodeTransitionError } from '../../src/entities/device-code.entity';

const CREATED = Date.UTC(2026, 11, 3, 12, 0, 0);
const EXPIRES = CREATED + 900_000;

function code(status: DeviceCodeStatus, overrides: Partial<DeviceCode> = {}): DeviceCode {
  return Object.assign(new DeviceCode(), {
    id: 1,
    deviceCodeHash: 'a'.repeat(64),
    userCode: 'BDWPHQPK',
    clientId: 'demo-cli',
    scope: 'read write',
    status,
    userId: status === 'pending' ? null : 'alice',
    intervalSeconds: 5,
    lastPolledAt: null,
    expiresAt: EXPIRES,
    createdAt: CREATED,
    decidedAt: status === 'pending' ? null : CREATED + 1000,
    requesterIp: '203.0.113.7',
    requesterUserAgent: 'curl/8',
    ...overrides,
  });
}

function snapshot(entity: DeviceCode): Record<string, unknown> {
  return { ...entity };
}

function act(entity: DeviceCode, action: DeviceCodeAction, now: number): void {
  if (action === 'authorize') entity.authorize('bob', now);
  else if (action === 'deny') entity.deny('bob', now);
  else entity.consume(now);
}

const ALL: DeviceCodeStatus[] = ['pending', 'authorized', 'denied', 'consumed'];

describe('DeviceCode.TRANSITIONS', () => {
  it('is the whole state machine', () => {
    expect(DeviceCode.TRANSITIONS).toEqual({
      authorize: { from: 'pending', to: 'authorized' },
      deny: { from: 'pending', to: 'denied' },
      consume: { from: 'authorized', to: 'consumed' },
    });
  });
});

describe('DeviceCode.isExpired', () => {
  it('is valid up to expiresAt and expired from it', () => {
    const entity = code('pending');
    expect(entity.isExpired(CREATED)).toBe(false);
    expect(entity.isExpired(EXPIRES - 1)).toBe(false);
    expect(entity.isExpired(EXPIRES)).toBe(true);
    expect(entity.isExpired(EXPIRES + 1)).toBe(true);
  });

  it('is derived from expiresAt whatever the status', () => {
    for (const status of ALL) {
      expect(code(status).isExpired(EXPIRES - 1)).toBe(false);
      expect(code(status).isExpired(EXPIRES)).toBe(true);
    }
  });
});

describe('DeviceCode.can', () => {
  it.each([
    ['authorize', 'pending'],
    ['deny', 'pending'],
    ['consume', 'authorized'],
  ] as const)('%s is allowed only from %s, and only before expiry', (action, from) => {
    for (const status of ALL) {
      expect(code(status).can(action, EXPIRES - 1)).toBe(status === from);
      expect(code(status).can(action, EXPIRES)).toBe(false);
    }
  });
});

describe('DeviceCode.authorize', () => {
  it('moves a pending code to authorized and records who and when', () => {
    const entity = code('pending');
    entity.authorize('alice', CREATED + 5000);
    expect(entity.status).toBe('authorized');
    expect(entity.userId).toBe('alice');
    expect(entity.decidedAt).toBe(CREATED + 5000);
  });

  it('still works one millisecond before expiry', () => {
    const entity = code('pending');
    entity.authorize('alice', EXPIRES - 1);
    expect(entity.status).toBe('authorized');
    expect(entity.decidedAt).toBe(EXPIRES - 1);
  });

  it('changes nothing else', () => {
    const entity = code('pending');
    const before = snapshot(entity);
    entity.authorize('alice', CREATED + 5000);
    expect(snapshot(entity)).toEqual({ ...before, status: 'authorized', userId: 'alice', decidedAt: CREATED + 5000 });
  });
});

describe('DeviceCode.deny', () => {
  it('moves a pending code to denied and records who and when', () => {
    const entity = code('pending');
    entity.deny('alice', CREATED + 5000);
    expect(entity.status).toBe('denied');
    expect(entity.userId).toBe('alice');
    expect(entity.decidedAt).toBe(CREATED + 5000);
  });

  it('accepts an anonymous denial (userId null)', () => {
    const entity = code('pending');
    entity.deny(null, EXPIRES - 1);
    expect(entity.status).toBe('denied');
    expect(entity.userId).toBeNull();
    expect(entity.decidedAt).toBe(EXPIRES - 1);
  });
});

describe('DeviceCode.consume', () => {
  it('moves an authorized code to consumed and keeps the decision', () => {
    const entity = code('authorized');
    const before = snapshot(entity);
    entity.consume(EXPIRES - 1);
    expect(snapshot(entity)).toEqual({ ...before, status: 'consumed' });
  });
});

describe('illegal transitions', () => {
  const cases: Array<[DeviceCodeAction, DeviceCodeStatus]> = [];
  for (const action of ['authorize', 'deny', 'consume'] as const) {
    for (const status of ALL) if (status !== DeviceCode.TRANSITIONS[action].from) cases.push([action, status]);
  }

  it.each(cases)('%s from %s throws IllegalDeviceCodeTransitionError and leaves the entity unchanged', (action, status) => {
    const entity = code(status);
    const before = snapshot(entity);
    let thrown: unknown;
    try {
      act(entity, action, CREATED + 5000);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IllegalDeviceCodeTransitionError);
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as IllegalDeviceCodeTransitionError;
    expect(error.name).toBe('IllegalDeviceCodeTransitionError');
    expect(error.message).toContain(`Cannot ${action} a device code that is ${status};`);
    const { from, to } = DeviceCode.TRANSITIONS[action];
    expect(error.message).toContain(`${from}, unexpired code can be ${to}.`);
    expect(snapshot(entity)).toEqual(before);
  });

  it.each(['authorize', 'deny', 'consume'] as const)('%s of an expired code throws, says "expired", and changes nothing', (action) => {
    const entity = code(DeviceCode.TRANSITIONS[action].from);
    const before = snapshot(entity);
    expect(() => act(entity, action, EXPIRES)).toThrow(IllegalDeviceCodeTransitionError);
    expect(() => act(entity, action, EXPIRES)).toThrow(`Cannot ${action} a device code that is expired;`);
    expect(() => act(entity, action, EXPIRES + 60_000)).toThrow(IllegalDeviceCodeTransitionError);
    expect(snapshot(entity)).toEqual(before);
  });

  it('gives the exact, helpful message', () => {
    expect(() => code('denied').authorize('bob', CREATED)).toThrow(
      'Cannot authorize a device code that is denied; only a pending, unexpired code can be authorized.',
    );
    expect(() => code('authorized').deny('bob', CREATED)).toThrow(
      'Cannot deny a device code that is authorized; only a pending, unexpired code can be denied.',
    );
    expect(() => code('pending').authorize('bob', EXPIRES)).toThrow(
      'Cannot authorize a device code that is expired; only a pending, unexpired code can be authorized.',
    );
  });

  it('says "expired" before the status for a decided code past its expiry', () => {
    expect(() => code('consumed').consume(EXPIRES)).toThrow('Cannot consume a device code that is expired;');
  });

  it('a code can be consumed only once', () => {
    const entity = code('authorized');
    entity.consume(CREATED + 1);
    expect(() => entity.consume(CREATED + 2)).toThrow(IllegalDeviceCodeTransitionError);
    expect(entity.status).toBe('consumed');
  });

  it('a decision cannot be reversed', () => {
    const approved = code('pending');
    approved.authorize('alice', CREATED + 1);
    expect(() => approved.deny('mallory', CREATED + 2)).toThrow(IllegalDeviceCodeTransitionError);
    expect(approved.status).toBe('authorized');
    expect(approved.userId).toBe('alice');
    expect(approved.decidedAt).toBe(CREATED + 1);

    const denied = code('pending');
    denied.deny('alice', CREATED + 1);
    expect(() => denied.authorize('mallory', CREATED + 2)).toThrow(IllegalDeviceCodeTransitionError);
    expect(denied.status).toBe('denied');
    expect(denied.userId).toBe('alice');
  });
});
