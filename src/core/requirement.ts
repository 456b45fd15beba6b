/** The tag every worker carries without declaring it: any worker can run general work. */
export const GENERAL = 'GENERAL';

/** What a job that names no tag requires. */
export const DEFAULT_REQUIREMENT: readonly string[] = [GENERAL];

/** The tags a job asked for, or the default when it named none. */
export function requirementOrDefault(tags: readonly string[]): readonly string[] {
  return tags.length > 0 ? tags : DEFAULT_REQUIREMENT;
}
