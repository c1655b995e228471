//! Sealing a short secret for storage the server itself keeps (AES-256-GCM, a random nonce per
//! seal): a database dump shows only ciphertext; the key is derived from a server secret that is
//! never stored there. Each purpose has its own key, and a sealed value opens only with the
//! context it was sealed for (the associated data), so one cannot be moved to another row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};

pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// A key for `purpose` alone, derived (HKDF-SHA256) from `master`.
    pub fn derive(master: &[u8], purpose: &str) -> Sealer {
        let prk = Salt::new(HKDF_SHA256, b"staffgate sealed v1").extract(master);
        let info = [purpose.as_bytes()];
        let mut bytes = [0u8; 32];
        // Fails only for an output longer than 255 hash lengths; 32 bytes is one.
        if let Ok(okm) = prk.expand(&info, &AES_256_GCM) {
            let _ = okm.fill(&mut bytes);
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map(LessSafeKey::new)
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
        Sealer { key }
    }

    /// `nonce || ciphertext || tag`, base64url.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut data = plaintext.as_bytes().to_vec();
        // Only fails for inputs beyond GCM's 64 GiB limit.
        let _ = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut data,
        );
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The plaintext, or None when the value was altered, sealed under another key, or for
    /// another context.
    pub fn open(&self, sealed: &str, context: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_purpose_and_context() {
        let master = [7u8; 64];
        let sealer = Sealer::derive(&master, "issued-qr");
        let sealed = sealer.seal("https://sg.example.jp/welcome#t=secret", "N0001");
        assert!(!sealed.contains("secret"));
        assert_eq!(
            sealer.open(&sealed, "N0001").as_deref(),
            Some("https://sg.example.jp/welcome#t=secret")
        );
        assert_ne!(
            sealed,
            sealer.seal("https://sg.example.jp/welcome#t=secret", "N0001")
        );
        assert_eq!(sealer.open(&sealed, "N0002"), None, "another context");
        assert_eq!(
            Sealer::derive(&master, "other").open(&sealed, "N0001"),
            None,
            "another purpose"
        );
        assert_eq!(
            Sealer::derive(&[8u8; 64], "issued-qr").open(&sealed, "N0001"),
            None,
            "another key"
        );
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            sealer.open(&URL_SAFE_NO_PAD.encode(tampered), "N0001"),
            None
        );
        assert_eq!(sealer.open("not base64!", "N0001"), None);
        assert_eq!(sealer.open("", "N0001"), None);
    }
}
