//! The little DER the key parser needs: read the tag-length-value items of PKCS#1, SEC1 and
//! PKCS#8 private keys, and write the PKCS#8 wrapper around them. ring only loads PKCS#8, and no
//! crate we depend on exposes a general DER reader for private keys, so the charm carries these
//! few lines instead of a DER dependency.

/// Tags of the universal and context-specific types that appear in private keys.
pub(crate) mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    /// `[0]` constructed: SEC1 `parameters`, PKCS#8 `attributes`.
    pub const CONTEXT_0: u8 = 0xa0;
    /// `[1]` constructed: SEC1 `publicKey`, PKCS#8 v2 `publicKey`.
    pub const CONTEXT_1: u8 = 0xa1;
}

/// Object identifiers, as the content bytes of their DER encoding.
pub(crate) mod oid {
    /// rsaEncryption, 1.2.840.113549.1.1.1.
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// RSASSA-PSS, 1.2.840.113549.1.1.10.
    pub const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    /// id-ecPublicKey, 1.2.840.10045.2.1.
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 (P-256), 1.2.840.10045.3.1.7.
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 (P-384), 1.3.132.0.34.
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 (P-521), 1.3.132.0.35.
    pub const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// secp256k1, 1.3.132.0.10.
    pub const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
    /// id-dsa, 1.2.840.10040.4.1.
    pub const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
    /// id-X25519, 1.3.101.110.
    pub const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
    /// id-X448, 1.3.101.111.
    pub const X448: &[u8] = &[0x2b, 0x65, 0x6f];
    /// id-Ed25519, 1.3.101.112.
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    /// id-Ed448, 1.3.101.113.
    pub const ED448: &[u8] = &[0x2b, 0x65, 0x71];
}

/// The input is not the DER structure expected. Carries no data: key bytes must not reach a
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerError;

/// Reads DER items one after the other from a byte slice.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { rest: input }
    }

    /// True when every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next item, without reading it.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next item, whatever its tag: `(tag, content)`.
    pub(crate) fn read_any(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&item_tag, after_tag) = self.rest.split_first().ok_or(DerError)?;
        if item_tag & 0x1f == 0x1f {
            return Err(DerError); // multi-byte tags never appear in keys
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or(DerError)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_len.len() < count {
                return Err(DerError); // indefinite or absurd lengths
            }
            let (len_bytes, rest) = after_len.split_at(count);
            after_len = rest;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b))
        };
        if after_len.len() < len {
            return Err(DerError);
        }
        let (content, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok((item_tag, content))
    }

    /// The content of the next item, which must have tag `want`.
    pub(crate) fn read(&mut self, want: u8) -> Result<&'a [u8], DerError> {
        match self.read_any()? {
            (got, content) if got == want => Ok(content),
            _ => Err(DerError),
        }
    }

    /// The content of the next item if it has tag `want`; nothing read otherwise.
    pub(crate) fn read_optional(&mut self, want: u8) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(want) {
            self.read(want).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A small non-negative INTEGER (versions).
    pub(crate) fn read_small_uint(&mut self) -> Result<u8, DerError> {
        match self.read(tag::INTEGER)? {
            [v] if *v < 0x80 => Ok(*v),
            _ => Err(DerError),
        }
    }

    /// The whole input, which must be exactly one item with tag `want`: its content.
    pub(crate) fn single(input: &'a [u8], want: u8) -> Result<&'a [u8], DerError> {
        let mut reader = Reader::new(input);
        let content = reader.read(want)?;
        if reader.is_empty() {
            Ok(content)
        } else {
            Err(DerError)
        }
    }
}

/// The DER encoding of one item: tag, definite length, content.
pub(crate) fn write(item_tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(item_tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The number of significant bits of a DER INTEGER's content taken as unsigned (an RSA modulus).
pub(crate) fn unsigned_bit_len(content: &[u8]) -> usize {
    let significant: &[u8] = match content.iter().position(|&b| b != 0) {
        Some(first) => &content[first..],
        None => return 0,
    };
    (significant.len() - 1) * 8 + (8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_short_and_long_lengths_that_read_back() {
        for len in [0usize, 1, 127, 128, 255, 256, 1193, 70_000] {
            let content = vec![0x5a; len];
            let encoded = write(tag::OCTET_STRING, &content);
            assert_eq!(
                Reader::single(&encoded, tag::OCTET_STRING),
                Ok(&content[..])
            );
        }
        assert_eq!(write(tag::NULL, &[]), [0x05, 0x00]);
        assert_eq!(
            &write(tag::OCTET_STRING, &[0; 128])[..3],
            [0x04, 0x81, 0x80]
        );
        assert_eq!(
            &write(tag::OCTET_STRING, &[0; 256])[..4],
            [0x04, 0x82, 0x01, 0x00]
        );
    }

    #[test]
    fn refuses_truncated_indefinite_and_trailing_input() {
        assert_eq!(Reader::new(&[]).read_any(), Err(DerError));
        assert_eq!(Reader::new(&[0x04, 0x05, 1, 2]).read_any(), Err(DerError));
        assert_eq!(Reader::new(&[0x30, 0x80, 0, 0]).read_any(), Err(DerError));
        assert_eq!(
            Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).read_any(),
            Err(DerError)
        );
        assert_eq!(
            Reader::single(&[0x05, 0x00, 0x05], tag::NULL),
            Err(DerError)
        );
        assert_eq!(Reader::single(&[0x05, 0x00], tag::INTEGER), Err(DerError));
    }

    #[test]
    fn optional_items_and_small_integers() {
        let input = [0x02, 0x01, 0x01, 0xa1, 0x02, 0x03, 0x00];
        let mut reader = Reader::new(&input);
        assert_eq!(reader.read_small_uint(), Ok(1));
        assert_eq!(reader.read_optional(tag::CONTEXT_0), Ok(None));
        assert_eq!(
            reader.read_optional(tag::CONTEXT_1),
            Ok(Some(&[0x03, 0x00][..]))
        );
        assert!(reader.is_empty());
        assert_eq!(
            Reader::new(&[0x02, 0x01, 0x80]).read_small_uint(),
            Err(DerError)
        );
    }

    #[test]
    fn counts_the_bits_of_an_unsigned_integer() {
        assert_eq!(unsigned_bit_len(&[]), 0);
        assert_eq!(unsigned_bit_len(&[0x00]), 0);
        assert_eq!(unsigned_bit_len(&[0x01]), 1);
        assert_eq!(unsigned_bit_len(&[0x00, 0x80, 0x00]), 16);
        let mut modulus = vec![0x00, 0xc0];
        modulus.extend([0u8; 255]);
        assert_eq!(unsigned_bit_len(&modulus), 2048);
    }
}
