import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors';

/** A new 64-hex-digit object ID, as the kubelet and crictl expect sandbox and container IDs to look. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Finds the one ID among `ids` that `idOrPrefix` names: the ID itself or a unique prefix of it,
 * as crictl lets users type. Undefined when none matches; an error when several do.
 */
export function resolveIdPrefix(idOrPrefix: string, ids: Iterable<string>): string | undefined {
  let found: string | undefined;
  for (const id of ids) {
    if (id === idOrPrefix) return id;
    if (id.startsWith(idOrPrefix)) {
      if (found !== undefined) throw new AmbiguousIdError(idOrPrefix);
      found = id;
    }
  }
  return found;
}

export class AmbiguousIdError extends InvalidArgumentError {
  constructor(readonly prefix: string) {
    super(`ID prefix "${prefix}" matches more than one object`);
  }
}
