//! The backup file's layers: the SQL dump, compressed with zstd, encrypted with age to one
//! X25519 recipient. Any stage can be undone by hand with Debian's `age` and `zstd`
//! (`age -d -i KEY FILE | zstd -d`). Both directions stream: memory stays bounded whatever
//! the size of the database.

use std::io::{self, BufRead, Read, Write};

use sha2::{Digest, Sha256};

/// zstd's default level: about as fast as the dump tool writes, a quarter of the size or less.
pub const ZSTD_LEVEL: i32 = 3;

/// A writer that hashes and counts what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The hex SHA-256 and the size of everything written, and the writer.
    pub fn finish(self) -> (String, u64, W) {
        (hex::encode(self.hasher.finalize()), self.bytes, self.inner)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The hex SHA-256 and size of everything `reader` yields.
pub fn sha256_of(reader: impl Read) -> io::Result<(String, u64)> {
    let mut hashing = Hashing::new(io::sink());
    let mut reader = reader;
    io::copy(&mut reader, &mut hashing)?;
    let (sha, bytes, _) = hashing.finish();
    Ok((sha, bytes))
}

/// Where plaintext goes in: compressed, then encrypted, then written to `out`.
pub struct Sealer<W: Write> {
    zstd: zstd::Encoder<'static, age::stream::StreamWriter<W>>,
}

impl<W: Write> Sealer<W> {
    pub fn new(recipient: &age::x25519::Recipient, out: W) -> io::Result<Self> {
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .map_err(io::Error::other)?;
        let encrypted = encryptor.wrap_output(out)?;
        Ok(Self {
            zstd: zstd::Encoder::new(encrypted, ZSTD_LEVEL)?,
        })
    }

    /// Ends the zstd frame and the age stream (its last chunk and tag); the writer.
    pub fn finish(self) -> io::Result<W> {
        self.zstd.finish()?.finish()
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.zstd.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.zstd.flush()
    }
}

/// Why a backup file cannot be opened with the identity given.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the identity is not one this backup was encrypted to")]
    WrongIdentity,
    #[error("not an age file, or a damaged one: {0}")]
    Damaged(String),
}

/// The plaintext of a sealed backup. The age header is checked here; every later chunk is
/// authenticated as it is read, so a damaged file ends in a read error, never in altered SQL.
pub fn open<R: BufRead + 'static>(
    identities: &[age::x25519::Identity],
    input: R,
) -> Result<impl Read + use<R>, OpenError> {
    let decryptor =
        age::Decryptor::new_buffered(input).map_err(|e| OpenError::Damaged(e.to_string()))?;
    let plaintext = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::WrongIdentity,
            other => OpenError::Damaged(other.to_string()),
        })?;
    zstd::Decoder::new(plaintext).map_err(|e| OpenError::Damaged(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_with_the_identity_only() {
        let identity = age::x25519::Identity::generate();
        let text = "INSERT INTO `t` VALUES (1,'看護');\n".repeat(10_000);
        let mut sealer = Sealer::new(&identity.to_public(), Hashing::new(Vec::new())).unwrap();
        sealer.write_all(text.as_bytes()).unwrap();
        let (sha, bytes, sealed) = sealer.finish().unwrap().finish();
        assert_eq!(bytes as usize, sealed.len());
        assert!(
            sealed.len() < text.len() / 10,
            "compressed: {}",
            sealed.len()
        );
        assert_eq!(sha256_of(sealed.as_slice()).unwrap(), (sha, bytes));
        assert!(!sealed.windows(4).any(|w| w == b"INSE"), "encrypted");

        let mut opened = String::new();
        open(
            std::slice::from_ref(&identity),
            io::Cursor::new(sealed.clone()),
        )
        .unwrap()
        .read_to_string(&mut opened)
        .unwrap();
        assert_eq!(opened, text);

        let stranger = age::x25519::Identity::generate();
        assert!(matches!(
            open(&[stranger], io::Cursor::new(sealed.clone())),
            Err(OpenError::WrongIdentity)
        ));

        let mut damaged = sealed;
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x01;
        let mut out = Vec::new();
        let read = open(&[identity], io::Cursor::new(damaged)).and_then(|mut r| {
            r.read_to_end(&mut out)
                .map_err(|e| OpenError::Damaged(e.to_string()))
        });
        assert!(read.is_err(), "a flipped bit is never read as SQL");
    }
}
