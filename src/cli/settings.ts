import { TitanError, ErrorCode } from '../common/errors.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

export { titanHome, defaultMasterDataDir, parseHostPort, resolveMasterAddress, type MasterAddress, type AddressFlags } from '../sdk/address.js';

export function parseTags(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...DEFAULT_REQUIREMENT];
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TitanError(ErrorCode.INVALID_REQUEST, `${name} must be a positive integer, got "${value}"`);
  return n;
}
