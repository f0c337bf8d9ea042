// The app itself: version and data folder, first start (demo shop or empty file), the shop's figures.
import type { AppInfo } from '../generated/AppInfo';
import type { DemoSummary } from '../generated/DemoSummary';
import type { Outcome } from '../generated/Outcome';
import type { ShopStats } from '../generated/ShopStats';
import { call } from './core';

export type { AppInfo };

export const appInfo = () => call<AppInfo>('app_info');

export const demoLoad = () => call<Outcome<DemoSummary>>('demo_load');
export const onboardingSkip = () => call<null>('onboarding_skip');

export const statsGet = () => call<ShopStats>('stats_get');
