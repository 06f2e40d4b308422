import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors';
import { emptySpec } from './container-spec';
import {
  apparmorChoice,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  withApparmor,
  withMaskedPaths,
  withNoNewPrivileges,
  withPrivilegeCheck,
} from './security';
import { containerConfig, sandboxInfo, specInput } from './test-input';

const apparmorOn = { apparmor: { defaultProfile: 'berth-default' } };

describe('masked and read-only paths', () => {
  test('defaults when the CRI gives none', () => {
    const spec = emptySpec();
    withMaskedPaths(spec, specInput());
    expect(spec.linux.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux.readonlyPaths).toContain('/proc/sys');
  });

  test("the CRI's lists replace the defaults", () => {
    const spec = emptySpec();
    withMaskedPaths(
      spec,
      specInput({ config: containerConfig({}, { masked_paths: ['/proc/x'], readonly_paths: ['/proc/y'] }) }),
    );
    expect(spec.linux.maskedPaths).toEqual(['/proc/x']);
    expect(spec.linux.readonlyPaths).toEqual(['/proc/y']);
  });

  test('operator defaults are used as given', () => {
    const input = specInput();
    input.defaults = { ...input.defaults, maskedPaths: ['/proc/a'], readonlyPaths: [] };
    const spec = emptySpec();
    withMaskedPaths(spec, input);
    expect(spec.linux.maskedPaths).toEqual(['/proc/a']);
    expect(spec.linux.readonlyPaths).toEqual([]);
  });

  test('privileged: none at all', () => {
    const spec = emptySpec();
    withMaskedPaths(
      spec,
      specInput({ config: containerConfig({}, { privileged: true, masked_paths: ['/proc/x'] }) }),
    );
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.linux.readonlyPaths).toBeUndefined();
  });
});

describe('privilege check and no_new_privs', () => {
  test('a privileged container needs a privileged pod', () => {
    const config = containerConfig({}, { privileged: true });
    expect(() => withPrivilegeCheck(emptySpec(), specInput({ config }))).toThrow(InvalidArgumentError);
    expect(() =>
      withPrivilegeCheck(emptySpec(), specInput({ config, sandbox: sandboxInfo({}, true) })),
    ).not.toThrow();
  });

  test('no_new_privs maps to noNewPrivileges', () => {
    const spec = emptySpec();
    withNoNewPrivileges(spec, specInput({ config: containerConfig({}, { no_new_privs: true }) }));
    expect(spec.process.noNewPrivileges).toBe(true);
    withNoNewPrivileges(spec, specInput());
    expect(spec.process.noNewPrivileges).toBe(false);
  });
});

describe('AppArmor', () => {
  test.each([
    [null, '', { kind: 'runtime-default' }],
    [null, 'runtime/default', { kind: 'runtime-default' }],
    [null, 'unconfined', { kind: 'unconfined' }],
    [null, 'localhost/my-prof', { kind: 'localhost', name: 'my-prof' }],
    [{ profile_type: 'Unconfined' as const, localhost_ref: '' }, 'localhost/ignored', { kind: 'unconfined' }],
    [{ profile_type: 'Localhost' as const, localhost_ref: 'p1' }, '', { kind: 'localhost', name: 'p1' }],
    [{ profile_type: 'RuntimeDefault' as const, localhost_ref: '' }, '', { kind: 'runtime-default' }],
  ])('%j / "%s"', (profile, legacy, expected) => {
    expect(apparmorChoice(profile, legacy)).toEqual(expected);
  });

  test('unknown legacy forms and nameless Localhost are refused', () => {
    expect(() => apparmorChoice(null, 'docker-default')).toThrow(InvalidArgumentError);
    expect(() => apparmorChoice({ profile_type: 'Localhost', localhost_ref: '' }, '')).toThrow(
      InvalidArgumentError,
    );
  });

  test('with AppArmor on the host: the default profile, or the named one', () => {
    const spec = emptySpec();
    const input = specInput();
    input.features = { ...input.features, ...apparmorOn };
    withApparmor(spec, input);
    expect(spec.process.apparmorProfile).toBe('berth-default');
    input.config = containerConfig(
      {},
      { apparmor: { profile_type: 'Localhost', localhost_ref: 'k8s-nginx' } },
    );
    withApparmor(spec, input);
    expect(spec.process.apparmorProfile).toBe('k8s-nginx');
  });

  test('unconfined and privileged containers get no profile', () => {
    for (const sc of [{ apparmor_profile: 'unconfined' }, { privileged: true }]) {
      const spec = emptySpec();
      const input = specInput({ config: containerConfig({}, sc) });
      input.features = { ...input.features, ...apparmorOn };
      withApparmor(spec, input);
      expect(spec.process.apparmorProfile).toBeUndefined();
    }
  });

  test('without AppArmor on the host: default skipped, Localhost a FailedPrecondition', () => {
    const spec = emptySpec();
    withApparmor(spec, specInput());
    expect(spec.process.apparmorProfile).toBeUndefined();
    const localhost = specInput({ config: containerConfig({}, { apparmor_profile: 'localhost/p' }) });
    expect(() => withApparmor(emptySpec(), localhost)).toThrow(FailedPreconditionError);
    expect(() => withApparmor(emptySpec(), localhost)).toThrow(/AppArmor is not enabled/);
  });
});
