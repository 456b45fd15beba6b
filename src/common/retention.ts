/** How long finished history (master) and job workspaces (worker) are kept unless --retention says otherwise. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;
