import { InvalidArgumentError } from '../../common/errors';
import type { LinuxContainerSecurityContext__Output } from '../../api/generated/runtime/v1/LinuxContainerSecurityContext';
import type { SpecOpt } from './input';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The highest valid uid/gid: (uid_t)-1 means "no change" to the kernel. */
const MAX_ID = 0xfffffffe;

/** passwd(5) lines `name:password:uid:gid:gecos:home:shell`; malformed lines are skipped, as glibc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (line.startsWith('#') || fields.length < 4) continue;
    const uid = parseId(fields[2]);
    const gid = parseId(fields[3]);
    if (fields[0] && uid !== undefined && gid !== undefined) entries.push({ name: fields[0], uid, gid });
  }
  return entries;
}

/** group(5) lines `name:password:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (line.startsWith('#') || fields.length < 3) continue;
    const gid = parseId(fields[2]);
    if (!fields[0] || gid === undefined) continue;
    const members = (fields[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    entries.push({ name: fields[0], gid, members });
  }
  return entries;
}

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const id = Number(text.trim());
  return id <= MAX_ID ? id : undefined;
}

/** A CRI int64 uid/gid (a decimal string on the wire), checked to fit a uid_t. */
function criId(what: string, value: string): number {
  const id = parseId(value);
  if (id === undefined) throw new InvalidArgumentError(`${what} ${value} is not a valid id (0..${MAX_ID})`);
  return id;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The user's name in the image's /etc/passwd, when it has one: its group memberships count. */
  name?: string;
}

interface UserDatabase {
  passwd: PasswdEntry[];
  group: GroupEntry[];
}

/**
 * The uid and primary gid of the container's process. In order (CRI LinuxContainerSecurityContext):
 * run_as_user or run_as_username (never both), with run_as_group or else the user's primary group
 * from the image's /etc/passwd; otherwise the image's USER in any of its forms (user, uid,
 * user:group, uid:gid, and the mixes); otherwise root. A uid the image does not know is fine (its
 * gid is then 0, as in runc); a name it does not know is an error.
 */
export function resolveUser(
  sc: LinuxContainerSecurityContext__Output | null | undefined,
  imageUser: string | undefined,
  db: UserDatabase,
): ResolvedUser {
  const runAsUser = sc?.run_as_user ? criId('run_as_user', sc.run_as_user.value) : undefined;
  const runAsGroup = sc?.run_as_group ? criId('run_as_group', sc.run_as_group.value) : undefined;
  const runAsUsername = sc?.run_as_username ?? '';
  if (runAsUser !== undefined && runAsUsername !== '') {
    throw new InvalidArgumentError('run_as_user and run_as_username are mutually exclusive');
  }
  if (runAsGroup !== undefined && runAsUser === undefined && runAsUsername === '') {
    throw new InvalidArgumentError('run_as_group is only valid together with run_as_user or run_as_username');
  }
  if (runAsUser !== undefined) {
    const entry = db.passwd.find((p) => p.uid === runAsUser);
    return { uid: runAsUser, gid: runAsGroup ?? entry?.gid ?? 0, name: entry?.name };
  }
  if (runAsUsername !== '') {
    const entry = userByName(db, runAsUsername);
    return { uid: entry.uid, gid: runAsGroup ?? entry.gid, name: entry.name };
  }
  return resolveImageUser(imageUser ?? '', db);
}

function resolveImageUser(spec: string, db: UserDatabase): ResolvedUser {
  if (spec === '') {
    const root = db.passwd.find((p) => p.uid === 0);
    return { uid: 0, gid: root?.gid ?? 0, name: root?.name };
  }
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  if (userPart === '' || groupPart === '') {
    throw new InvalidArgumentError(`the image's user "${spec}" is not of the form user[:group]`);
  }
  const numericUid = parseId(userPart);
  let user: ResolvedUser;
  if (numericUid !== undefined) {
    const entry = db.passwd.find((p) => p.uid === numericUid);
    user = { uid: numericUid, gid: entry?.gid ?? 0, name: entry?.name };
  } else {
    const entry = userByName(db, userPart);
    user = { uid: entry.uid, gid: entry.gid, name: entry.name };
  }
  if (groupPart !== undefined) user.gid = resolveGroup(groupPart, db);
  return user;
}

function userByName(db: UserDatabase, name: string): PasswdEntry {
  const entry = db.passwd.find((p) => p.name === name);
  if (!entry) throw new InvalidArgumentError(`user "${name}" is not in the image's /etc/passwd`);
  return entry;
}

function resolveGroup(spec: string, db: UserDatabase): number {
  const gid = parseId(spec);
  if (gid !== undefined) return gid;
  const entry = db.group.find((g) => g.name === spec);
  if (!entry) throw new InvalidArgumentError(`group "${spec}" is not in the image's /etc/group`);
  return entry.gid;
}

/**
 * The process's supplementary groups: its primary gid (so that dropping to it never loses a
 * group, as containerd does), the image's /etc/group memberships of the user (policy Merge, the
 * default), and the CRI's supplemental_groups. Strict keeps only the primary gid and the CRI's.
 */
export function supplementalGroups(
  user: ResolvedUser,
  requested: string[],
  policy: 'Merge' | 'Strict',
  db: UserDatabase,
): number[] {
  const gids = [user.gid];
  if (policy === 'Merge' && user.name !== undefined) {
    for (const group of db.group) if (group.members.includes(user.name)) gids.push(group.gid);
  }
  for (const gid of requested) gids.push(criId('supplemental group', gid));
  return [...new Set(gids)];
}

/** Reads the image's user database once; a missing file is an empty database, as for runc. */
export function imageUserDatabase(readRootfsFile: (path: string) => string | undefined): UserDatabase {
  return {
    passwd: parsePasswd(readRootfsFile('/etc/passwd') ?? ''),
    group: parseGroup(readRootfsFile('/etc/group') ?? ''),
  };
}

export const withUser: SpecOpt = (spec, { config, image, lookups }) => {
  const sc = config.linux?.security_context;
  const db = imageUserDatabase((p) => lookups.readRootfsFile(p));
  const user = resolveUser(sc, image.config.User, db);
  const policy = sc?.supplemental_groups_policy === 'Strict' ? 'Strict' : 'Merge';
  spec.process.user = {
    uid: user.uid,
    gid: user.gid,
    additionalGids: supplementalGroups(user, sc?.supplemental_groups ?? [], policy, db),
  };
};
