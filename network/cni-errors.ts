import { status } from '@grpc/grpc-js';
import { BerthError } from '../common/errors';

/** Well-known CNI error codes (spec section 5, "Error"; 50 and 51 are STATUS codes from 1.1.0). */
export const CNI_ERROR_CODES: Readonly<Record<number, string>> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
  50: 'plugin not available',
  51: 'plugin not available, existing containers in the network may have limited connectivity',
};

/** Codes that mean "not now" rather than "broken", so the kubelet's retry is the right answer. */
const TRANSIENT_CODES = new Set([11, 50, 51]);

/**
 * A CNI plugin failed: it printed the spec's error object, exited non-zero without one, printed
 * something that is not a result, or ran too long. The message names the plugin, the operation,
 * the CNI code and the plugin's own words, as the kubelet shows it to users verbatim.
 *
 * Transient CNI codes (try again later, plugin not available) map to UNAVAILABLE; everything else
 * is INTERNAL: the request was fine, the node's network is not.
 */
export class CniPluginError extends BerthError {
  override readonly code = 'CNI_PLUGIN_ERROR';
  override readonly grpcStatus: status;

  constructor(
    readonly plugin: string,
    readonly command: string,
    /** The plugin's CNI error code, or undefined when it gave no error object. */
    readonly cniCode: number | undefined,
    readonly msg: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    const codeText = cniCode === undefined ? '' : ` (CNI error ${cniCode}${describe(cniCode)})`;
    const detailText = details !== '' && details !== msg ? `: ${details}` : '';
    super(`CNI plugin ${plugin} failed on ${command}${codeText}: ${msg}${detailText}`, options);
    this.grpcStatus =
      cniCode !== undefined && TRANSIENT_CODES.has(cniCode) ? status.UNAVAILABLE : status.INTERNAL;
  }
}

function describe(code: number): string {
  const text = CNI_ERROR_CODES[code];
  return text ? `, ${text}` : '';
}
