// The merchant's data in and out: import (a file sent in pieces of raw bytes, preview, import, the rows in
// error, history and undo), export, a customer's access pack and erasure, retention, backups.
// Files come back as bytes (ArrayBuffer) that the screen offers as a download.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { BackupInfo } from '../generated/BackupInfo';
import type { BackupHeader } from '../generated/BackupHeader';
import type { BackupSettings } from '../generated/BackupSettings';
import type { BackupStatus } from '../generated/BackupStatus';
import type { ExportFormat } from '../generated/ExportFormat';
import type { ExportScope } from '../generated/ExportScope';
import type { FileInfo } from '../generated/FileInfo';
import type { ImportOptions } from '../generated/ImportOptions';
import type { ImportRecord } from '../generated/ImportRecord';
import type { ImportReport } from '../generated/ImportReport';
import type { OpenedFile } from '../generated/OpenedFile';
import type { Outcome } from '../generated/Outcome';
import type { ImportProgress } from '../generated/ImportProgress';
import type { ReadOptions } from '../generated/ReadOptions';
import type { RestoreReport } from '../generated/RestoreReport';
import type { RetentionCandidate } from '../generated/RetentionCandidate';
import type { UndoReport } from '../generated/UndoReport';
import { call, normaliseError } from './core';

async function bytes(cmd: string, args: Record<string, unknown>): Promise<Uint8Array> {
  try {
    const b = await invoke<ArrayBuffer>(cmd, args);
    return new Uint8Array(b);
  } catch (e) {
    throw normaliseError(e);
  }
}

/** The size of each piece of a file sent for import: the window never reads the whole file. */
export const UPLOAD_PIECE = 4 * 1024 * 1024;

/**
 * Send a file for import, piece by piece (each read from the file only when sent), then open it
 * (encoding, separator, sheets, mapping guessed).
 */
export async function importOpen(file: Blob, name: string): Promise<OpenedFile> {
  try {
    let upload = '';
    let offset = 0;
    let piece: Uint8Array;
    do {
      piece = new Uint8Array(await file.slice(offset, offset + UPLOAD_PIECE).arrayBuffer());
      const headers: Record<string, string> = { 'x-upload': upload, 'x-offset': String(offset) };
      if (offset === 0) headers['x-size'] = String(file.size);
      upload = await invoke<string>('data_import_upload', piece, { headers });
      offset += piece.length;
      // A file that became shorter while it was read ends the loop (the core then refuses it:
      // its length is not the size said at the first piece).
    } while (offset < file.size && piece.length > 0);
    return await invoke<OpenedFile>('data_import_open', { upload, name });
  } catch (e) {
    throw normaliseError(e);
  }
}
/** The import screens are done with a file: the core lets it go (and removes its copy). */
export const importClose = (token: string) => call<null>('data_import_close', { token });
export const importReopen = (token: string, options: ReadOptions) =>
  call<FileInfo>('data_import_reopen', { token, options });
export const importPreview = (token: string, options: ImportOptions) =>
  call<ImportReport>('data_import_preview', { token, options });
export const importRun = (token: string, options: ImportOptions, key: string) =>
  call<Outcome<ImportReport>>('data_import_run', { token, options, key });
export const importCancel = () => call<null>('data_import_cancel');
export const importErrorFile = (token: string) => bytes('data_import_error_file', { token });
export const importHistory = () => call<ImportRecord[]>('data_imports');
export const importUndo = (id: number, key: string) => call<Outcome<UndoReport>>('data_import_undo', { id, key });
/** Progress of a running preview or import. */
export const onImportProgress = (f: (p: ImportProgress) => void): Promise<UnlistenFn> =>
  listen<ImportProgress>('data-progress', (e) => f(e.payload));

export const exportCustomers = (scope: ExportScope, format: ExportFormat) => bytes('data_export', { scope, format });
export const accessPack = (id: number) => bytes('data_access_pack', { id });
export const eraseCustomer = (id: number, key: string) => call<Outcome<null>>('data_erase', { id, key });
export const retentionCandidates = () => call<RetentionCandidate[]>('data_retention');

export const backupStatus = () => call<BackupStatus>('backup_status');
export const backupNow = () => call<BackupInfo>('backup_now');
export const backupSettingsSave = (settings: BackupSettings, key: string) =>
  call<Outcome<null>>('backup_settings_save', { settings, key });
export const backupPassphraseSet = (passphrase: string | null, key: string) =>
  call<Outcome<null>>('backup_passphrase_set', { passphrase, key });
export const backupPassphraseCheck = (passphrase: string) => call<boolean>('backup_passphrase_check', { passphrase });
export const backupInspect = (fileName: string, passphrase: string | null) =>
  call<BackupHeader>('backup_inspect', { fileName, passphrase });
export const backupRestore = (fileName: string, passphrase: string | null, key: string) =>
  call<RestoreReport>('backup_restore', { fileName, passphrase, key });
