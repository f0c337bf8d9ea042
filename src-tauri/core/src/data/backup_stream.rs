//! The compressed stream of a backup: zstd (level 1, with its frame checksum) fed a MiB at a
//! time, hashed as it is written (`Hashing`), and — when not encrypted — decoded on a thread of
//! its own while it is written (`compress_checked`), so that a stream that does not decode to
//! the whole copy is caught without reading the file back after its last byte.
//!
//! Invariant: `compress_checked` returns `Ok` only when the decoder read the stream to its end,
//! zstd's frame checksum held and the decoded size is the copy's. A failure of either side stops
//! the other (the channel between them closes), never leaving a thread waiting.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::sync::mpsc;

/// Why a written stream does not read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StreamFault {
    /// It stops before its end.
    Truncated,
    /// It does not decode, its checksum does not hold, or it decodes to too much.
    Corrupted,
}

/// Compress `input` to `out` while a thread of its own decodes the compressed stream as it is
/// written: the stream must end, hold zstd's frame checksum and decode to `size` bytes. The
/// proof the read-back of the whole file gave, without a second pass after the last byte.
pub(super) fn compress_checked(input: &mut impl Read, out: &mut impl Write, size: u64) -> Result<()> {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(4);
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || decoded_size(Received { rx, chunk: Vec::new(), at: 0 }, size));
        let mut tee = Tee { inner: out, tx: Some(tx), pending: Vec::with_capacity(TEE_CHUNK) };
        let written = compress(input, &mut tee).and_then(|()| Ok(tee.end()?));
        drop(tee);
        let decoded = decoder.join().unwrap_or(Err(StreamFault::Corrupted));
        match (written, decoded) {
            (Ok(()), Ok(n)) if n == size => Ok(()),
            // The writer's own failure (a full disk): the decoder only saw the stream stop.
            (Err(e), Ok(_) | Err(StreamFault::Truncated)) => Err(e),
            // The stream does not decode, or not to the copy's size (the writer then stopped
            // too: the decoder's channel closed under it).
            _ => Err(Error::conflict("conflict.backup_corrupted")),
        }
    })
}

/// Lower the calling thread's scheduling priority (nice 10), for work that must never slow the
/// till: on Linux each thread has its own, and the threads it starts inherit it. Elsewhere
/// (macOS, Windows) nothing changes: their priorities belong to the process or need other calls.
pub(super) fn background_priority() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: two system calls on this thread's own id, with no pointer; a failure (a
    // container forbidding it) leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Read a zstd stream to its end, counting what it decodes to (never more than `limit`).
fn decoded_size(r: impl Read, limit: u64) -> std::result::Result<u64, StreamFault> {
    let mut dec = zstd::stream::read::Decoder::new(r).map_err(|_| StreamFault::Corrupted)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match dec.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(StreamFault::Truncated),
            Err(_) => return Err(StreamFault::Corrupted),
        }
        if n > limit {
            return Err(StreamFault::Corrupted);
        }
    }
}

const TEE_CHUNK: usize = 1 << 20;

/// A writer that also hands what goes through it, a MiB at a time, to a channel.
struct Tee<W: Write> {
    inner: W,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    pending: Vec<u8>,
}

impl<W: Write> Tee<W> {
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(TEE_CHUNK));
        match &self.tx {
            Some(tx) => tx.send(chunk).map_err(|_| io::Error::other("the backup's stream check stopped")),
            None => Err(io::Error::other("the backup's stream was already ended")),
        }
    }
    /// Send what is pending and close the channel: the decoder sees the stream's end.
    fn end(&mut self) -> io::Result<()> {
        self.inner.flush()?;
        let sent = if self.pending.is_empty() { Ok(()) } else { self.send() };
        self.tx = None;
        sent
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        // Sent before it would outgrow its MiB (zstd writes pieces of irregular size: a chunk
        // that crossed it would be reallocated at twice the size).
        if self.pending.len() + n > TEE_CHUNK && !self.pending.is_empty() {
            self.send()?;
        }
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The reading end of a `Tee`'s channel: its chunks one after the other, then the end.
struct Received {
    rx: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Received {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => (self.chunk, self.at) = (c, 0),
                Err(_) => return Ok(0),
            }
        }
        let k = buf.len().min(self.chunk.len() - self.at);
        buf[..k].copy_from_slice(&self.chunk[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

/// A writer that hashes what goes through it.
pub(super) struct Hashing<W: Write> {
    pub(super) inner: W,
    pub(super) h: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(super) fn compress(input: &mut impl Read, out: &mut impl Write) -> Result<()> {
    let mut enc = zstd::stream::write::Encoder::new(out, 1)?;
    enc.include_checksum(true)?;
    // Fed a MiB at a time: with `io::copy`'s 8 KiB, zstd compressed the 100k shop's 643 MB
    // file 14 % slower (its slower path for input that arrives in small pieces). Two zstd
    // worker threads were tried too: no faster on two cores, where the copy's check runs beside.
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        enc.write_all(&buf[..n])?;
    }
    enc.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some megabytes that compress a little (so the stream spans several channel chunks).
    fn sample() -> Vec<u8> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..6_000_000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 3 == 0 {
                    b'a'
                } else {
                    x as u8
                }
            })
            .collect()
    }

    fn zstd_of(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compress(&mut &data[..], &mut out).unwrap();
        out
    }

    #[test]
    fn a_checked_stream_decodes_to_its_input_and_is_refused_at_another_size() {
        let data = sample();
        let mut out = Vec::new();
        compress_checked(&mut &data[..], &mut out, data.len() as u64).expect("a whole stream passes its check");
        assert_eq!(zstd::decode_all(&out[..]).unwrap(), data, "what was written decodes to the input");
        let e = compress_checked(&mut &data[..], &mut Vec::new(), data.len() as u64 - 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            Error::conflict("conflict.backup_corrupted").to_string(),
            "the stream decodes to one byte more than the size said: refused"
        );
        let e = compress_checked(&mut &data[..], &mut Vec::new(), data.len() as u64 + 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            Error::conflict("conflict.backup_corrupted").to_string(),
            "to one byte less: refused"
        );
    }

    /// A disk that fills up after `room` bytes.
    struct Full {
        room: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_writer_that_fails_midway_gives_its_own_error_and_no_thread_waits() {
        let data = sample();
        let e = compress_checked(&mut &data[..], &mut Full { room: 1_500_000 }, data.len() as u64).unwrap_err();
        assert!(e.to_string().contains("disk full"), "the disk's error, not a corrupted stream: {e}");
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_backup_thread_yields_to_the_till_and_so_do_the_threads_it_starts() {
        // SAFETY: system calls on the calling thread's own id, with no pointer.
        let nice = || unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        };
        let before = nice();
        let (own, child) = std::thread::spawn(move || {
            background_priority();
            (nice(), std::thread::spawn(nice).join().unwrap())
        })
        .join()
        .unwrap();
        assert!(own >= 10, "the backup's thread runs at nice 10 (or lower, if the process was already): {own}");
        assert_eq!(child, own, "a thread it starts inherits it");
        assert_eq!(nice(), before, "the caller's thread keeps its priority");
    }

    #[test]
    fn the_decoder_tells_a_damaged_a_cut_and_a_lengthened_stream() {
        let data = sample();
        let z = zstd_of(&data);
        let limit = data.len() as u64;
        assert_eq!(decoded_size(&z[..], limit), Ok(limit), "the whole stream");
        let mut damaged = z.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0x40;
        assert_eq!(
            decoded_size(&damaged[..], limit),
            Err(StreamFault::Corrupted),
            "a flipped bit: the checksum or the decoding fails"
        );
        assert_eq!(decoded_size(&z[..z.len() - 10], limit), Err(StreamFault::Truncated), "cut before its end");
        let longer = [&z[..], b"garbage after the frame"].concat();
        assert_eq!(decoded_size(&longer[..], limit), Err(StreamFault::Corrupted), "bytes after the frame");
        assert_eq!(decoded_size(&z[..], limit - 1), Err(StreamFault::Corrupted), "more than announced");
    }
}
