/** Reported by each worker (and its inference service) at registration and shown by `titan workers`. */
export const WORKER_VERSION = '0.1.0';
