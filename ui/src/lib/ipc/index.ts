export * from './core';
export * from './commands';
