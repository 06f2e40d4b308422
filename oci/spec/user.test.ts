import { InvalidArgumentError } from '../../common/errors';
import { emptySpec } from './container-spec';
import { containerConfig, GROUP, lookups, PASSWD, securityContext, specInput } from './test-input';
import { parseGroup, parsePasswd, resolveUser, supplementalGroups, withUser } from './user';

const db = { passwd: parsePasswd(PASSWD), group: parseGroup(GROUP) };
const id = (value: number) => ({ value: String(value) });

describe('passwd and group parsing', () => {
  test('fields, members, and skipped junk', () => {
    expect(parsePasswd('# comment\nbad\nx:x:notanumber:0::/:\nok:x:7:8::/:/bin/sh\n')).toEqual([
      { name: 'ok', uid: 7, gid: 8 },
    ]);
    expect(parseGroup('g:x:9:a, b,\nh:x:10\n')).toEqual([
      { name: 'g', gid: 9, members: ['a', 'b'] },
      { name: 'h', gid: 10, members: [] },
    ]);
  });
});

describe('resolveUser', () => {
  test('nothing set: root', () => {
    expect(resolveUser(null, undefined, db)).toEqual({ uid: 0, gid: 0, name: 'root' });
    expect(resolveUser(null, '', { passwd: [], group: [] })).toEqual({ uid: 0, gid: 0 });
  });

  test('run_as_user only: the primary group from /etc/passwd', () => {
    expect(resolveUser(securityContext({ run_as_user: id(1000) }), 'nobody', db)).toEqual({
      uid: 1000,
      gid: 1000,
      name: 'app',
    });
  });

  test('run_as_user unknown to the image: gid 0, no name', () => {
    expect(resolveUser(securityContext({ run_as_user: id(4321) }), undefined, db)).toEqual({
      uid: 4321,
      gid: 0,
    });
  });

  test('run_as_user with run_as_group', () => {
    expect(
      resolveUser(securityContext({ run_as_user: id(1000), run_as_group: id(3000) }), '', db),
    ).toMatchObject({
      uid: 1000,
      gid: 3000,
    });
  });

  test('run_as_username from /etc/passwd, with or without run_as_group', () => {
    expect(resolveUser(securityContext({ run_as_username: 'daemon' }), '', db)).toEqual({
      uid: 1,
      gid: 1,
      name: 'daemon',
    });
    expect(
      resolveUser(securityContext({ run_as_username: 'app', run_as_group: id(5) }), '', db),
    ).toMatchObject({
      uid: 1000,
      gid: 5,
    });
  });

  test.each([
    ['name', 'app', { uid: 1000, gid: 1000, name: 'app' }],
    ['uid', '1000', { uid: 1000, gid: 1000, name: 'app' }],
    ['uid unknown to passwd', '1234', { uid: 1234, gid: 0 }],
    ['name:group', 'app:staff', { uid: 1000, gid: 50000, name: 'app' }],
    ['uid:gid', '1000:44', { uid: 1000, gid: 44, name: 'app' }],
    ['name:gid', 'daemon:5', { uid: 1, gid: 5, name: 'daemon' }],
    ['uid:group', '4321:video', { uid: 4321, gid: 44 }],
  ])("the image's USER as %s", (_form, user, expected) => {
    expect(resolveUser(securityContext(), user, db)).toEqual(expected);
  });

  test.each([
    ['an unknown image user', securityContext(), 'ghost', /user "ghost" is not in the image's \/etc\/passwd/],
    ['an unknown image group', securityContext(), 'app:ghosts', /group "ghosts" is not in/],
    ['an unknown run_as_username', securityContext({ run_as_username: 'ghost' }), '', /"ghost"/],
    [
      'user and username both',
      securityContext({ run_as_user: id(1), run_as_username: 'app' }),
      '',
      /exclusive/,
    ],
    ['a group without user', securityContext({ run_as_group: id(1) }), 'app', /only valid together/],
    ['a negative uid', securityContext({ run_as_user: id(-1) }), '', /not a valid id/],
    ['a uid past uid_t', securityContext({ run_as_user: { value: '4294967295' } }), '', /not a valid id/],
    ['an empty group part', securityContext(), 'app:', /user\[:group\]/],
  ])('%s is an InvalidArgument', (_name, sc, imageUser, message) => {
    expect(() => resolveUser(sc, imageUser, db)).toThrow(InvalidArgumentError);
    expect(() => resolveUser(sc, imageUser, db)).toThrow(message);
  });
});

describe('supplementalGroups', () => {
  // The shape of the Kubernetes SupplementalGroupsPolicy e2e test: the image puts the user in a
  // group (staff 50000), the pod runs as 1000:3000 with supplementalGroups [4000].
  const user = { uid: 1000, gid: 3000, name: 'app' };

  test('Merge: primary gid, the image memberships, then the requested groups', () => {
    expect(supplementalGroups(user, ['4000'], 'Merge', db)).toEqual([3000, 29, 44, 50000, 4000]);
  });

  test('Strict: primary gid and the requested groups only', () => {
    expect(supplementalGroups(user, ['4000'], 'Strict', db)).toEqual([3000, 4000]);
  });

  test('a uid with no name has no memberships; duplicates collapse', () => {
    expect(supplementalGroups({ uid: 5, gid: 7 }, ['7', '8', '8'], 'Merge', db)).toEqual([7, 8]);
  });
});

describe('withUser', () => {
  test('uses the rootfs files and the policy from the security context', () => {
    const spec = emptySpec();
    withUser(
      spec,
      specInput({
        config: containerConfig(
          {},
          { run_as_user: id(1000), supplemental_groups: ['4000'], supplemental_groups_policy: 'Strict' },
        ),
      }),
    );
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 4000] });
  });

  test('an image without /etc/passwd runs a numeric USER with gid 0', () => {
    const spec = emptySpec();
    withUser(
      spec,
      specInput({
        image: { config: { User: '123' }, rootfs: '/r' },
        lookups: lookups({ readRootfsFile: () => undefined }),
      }),
    );
    expect(spec.process.user).toEqual({ uid: 123, gid: 0, additionalGids: [0] });
  });
});
