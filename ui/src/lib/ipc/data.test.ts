// @vitest-environment node
// A file for import goes to the core in pieces: the window never reads the whole file at once,
// each piece says where it goes, and the first says the whole size (so a file too large is
// refused before it is sent).
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

const { importOpen, UPLOAD_PIECE } = await import('./data');

type Sent = { piece: Uint8Array; headers: Record<string, string> };

function recordUploads(): Sent[] {
  const sent: Sent[] = [];
  invoke.mockImplementation((cmd: string, args: unknown, options?: { headers: Record<string, string> }) => {
    if (cmd === 'data_import_upload') {
      sent.push({ piece: args as Uint8Array, headers: options?.headers ?? {} });
      return Promise.resolve('upload-token');
    }
    return Promise.resolve({ token: 'file-token', info: {} });
  });
  return sent;
}

describe('importOpen', () => {
  beforeEach(() => {
    invoke.mockReset();
  });

  it('sends a file larger than a piece in order, each piece at its offset, then opens it by name', async () => {
    const sent = recordUploads();
    const size = 2 * UPLOAD_PIECE + 10;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 997) bytes[i] = (i / 997) % 251;
    await importOpen(new Blob([bytes]), 'clients été.csv');
    expect(sent.map((s) => s.headers['x-offset'])).toEqual(['0', String(UPLOAD_PIECE), String(2 * UPLOAD_PIECE)]);
    expect(sent.map((s) => s.headers['x-upload']), 'the first piece starts an upload, the others name it').toEqual([
      '',
      'upload-token',
      'upload-token',
    ]);
    expect(sent[0].headers['x-size'], 'the first piece says the whole size').toBe(String(size));
    expect(sent[1].headers['x-size']).toBeUndefined();
    const joined = new Uint8Array(sent.reduce((n, s) => n + s.piece.length, 0));
    sent.reduce((at, s) => (joined.set(s.piece, at), at + s.piece.length), 0);
    expect(Buffer.compare(joined, bytes), 'the pieces put together are the file').toBe(0);
    expect(invoke).toHaveBeenLastCalledWith('data_import_open', { upload: 'upload-token', name: 'clients été.csv' });
  });

  it('sends an empty file as one empty piece (the core says it is empty)', async () => {
    const sent = recordUploads();
    await importOpen(new Blob([]), 'vide.csv');
    expect(sent.length).toBe(1);
    expect(sent[0].piece.length).toBe(0);
  });

  it('stops at the first refusal and passes the error on', async () => {
    const tooLarge = { code: 'validation', message: 'Ce fichier est trop gros (200 Mo au plus).', fields: [] };
    invoke.mockImplementation(async () => {
      throw tooLarge;
    });
    const refused = await importOpen(new Blob([new Uint8Array(10)]), 'gros.csv').then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'validation' });
    expect(invoke.mock.calls.length, 'nothing is sent after a refusal').toBe(1);
  });
});
