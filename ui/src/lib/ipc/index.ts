export * from './core';
export * from './commands';
export * from './gestures';
