// The app itself: version and data folder, the upgrade of an older file, first start (demo shop or empty file), the shop's figures.
import type { AppInfo } from '../generated/AppInfo';
import type { DemoSummary } from '../generated/DemoSummary';
import type { Outcome } from '../generated/Outcome';
import type { ShopStats } from '../generated/ShopStats';
import type { UpgradeStatus } from '../generated/UpgradeStatus';
import { call } from './core';

export type { AppInfo, UpgradeStatus };

export const appInfo = () => call<AppInfo>('app_info');

export const demoLoad = () => call<Outcome<DemoSummary>>('demo_load');
export const onboardingSkip = () => call<null>('onboarding_skip');

export const statsGet = () => call<ShopStats>('stats_get');

/** Where the upgrade of the customer file is, while one runs; null once the file is open. */
export const appUpgradeStatus = () => call<UpgradeStatus | null>('app_upgrade_status');
