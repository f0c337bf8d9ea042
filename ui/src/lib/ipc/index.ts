// The typed wrappers of Comptoir's commands, one file per domain; call sites import from '$lib/ipc'.
// `core` holds what every call shares (call, normaliseError, WriteKey).
export * from './core';
export * from './app';
export * from './settings';
export * from './customers';
export * from './sales';
export * from './loyalty';
export * from './cards';
export * from './campaigns';
export * from './numbers';
export * from './referrals';
export * from './mailbox';
export * from './deliverability';
export * from './data';
export * from './automations';
