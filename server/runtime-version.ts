import { packageVersion } from '../common/package-root';
import type { VersionResponse } from '../api/generated/runtime/v1/VersionResponse';

/** The CRI API this surface serves, as the kubelet expects to read it back. */
export const RUNTIME_API_VERSION = 'v1';

/**
 * Version: who we are. `version` is the version of the CRI's Version message itself, which has
 * been 0.1.0 since the API began (every CRI runtime answers the same).
 */
export function version(apiVersion = RUNTIME_API_VERSION): VersionResponse {
  return {
    version: '0.1.0',
    runtime_name: 'berth',
    runtime_version: packageVersion(),
    runtime_api_version: apiVersion,
  };
}
