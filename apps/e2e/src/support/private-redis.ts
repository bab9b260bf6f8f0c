import { freeTcpPort } from '@sandbox-relay/testing';

export { PrivateRedis } from '@sandbox-relay/testing';

/** A TCP port that was free a moment ago (the OS picks it). */
export const freePort = freeTcpPort;
