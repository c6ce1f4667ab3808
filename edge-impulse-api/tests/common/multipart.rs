//! Reading `multipart/form-data` bodies the client sent, for tests that check every part.

use super::header;

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Splits a `multipart/form-data` body at its boundary (RFC 7578), enough for these tests.
pub fn parse_multipart(request: &wiremock::Request) -> Vec<Part> {
    let content_type = header(request, "content-type").expect("a content type");
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    // With a CRLF in front, every delimiter, the first included, looks the same.
    let mut body = b"\r\n".to_vec();
    body.extend_from_slice(&request.body);
    let mut pieces = split(&body, &delimiter).into_iter();
    assert!(pieces.next().unwrap().is_empty(), "no preamble");
    let mut parts = Vec::new();
    for piece in pieces {
        if piece.starts_with(b"--") {
            assert_eq!(piece, b"--\r\n", "nothing but the closing CRLF after the last delimiter");
            return parts;
        }
        let piece = piece.strip_prefix(b"\r\n").expect("CRLF after a delimiter");
        let head_end = find(piece, b"\r\n\r\n").expect("part headers end with an empty line");
        let head = std::str::from_utf8(&piece[..head_end]).expect("ASCII part headers");
        let mut part = Part { name: String::new(), file_name: None, content_type: None, data: piece[head_end + 4..].to_vec() };
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':').expect("a header line");
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    let mut params = value.split(';').map(str::trim);
                    assert_eq!(params.next(), Some("form-data"));
                    for param in params {
                        let (key, value) = param.split_once('=').expect("key=value");
                        let value = value.trim_matches('"').to_owned();
                        match key {
                            "name" => part.name = value,
                            "filename" => part.file_name = Some(value),
                            other => panic!("unexpected parameter {other}"),
                        }
                    }
                }
                "content-type" => part.content_type = Some(value.trim().to_owned()),
                other => panic!("unexpected part header {other}"),
            }
        }
        parts.push(part);
    }
    panic!("the closing delimiter is missing");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(data, separator) {
        pieces.push(&data[..at]);
        data = &data[at + separator.len()..];
    }
    pieces.push(data);
    pieces
}
