//! What a call allocates, counted by a global allocator (per thread: each test runs on its
//! own thread, the client's work on the test's current-thread runtime).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use edge_impulse_api::{Client, Error, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Counting;

thread_local! {
    /// The largest single allocation made on this thread since the last reset.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    // `try_with`: nothing to note while the thread's storage is being torn down.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A server on 127.0.0.1 that announces `announced` bytes of JSON, sends `parts` (pausing
/// between them so that each arrives as a chunk of its own) and closes the connection.
async fn announcing(announced: u64, parts: &'static [&'static str]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buffer[..n]),
                }
            }
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {announced}\r\n\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            for part in parts {
                let _ = socket.write_all(part.as_bytes()).await;
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn an_announced_length_allocates_nothing_before_the_bytes_come() {
    // 256 MiB announced (the default cap, so not refused for its size), 30 bytes sent.
    let base_url = announcing(256 * 1024 * 1024, &["{\"success\": true,", " \"count\"", ": 1"]).await;
    let client = Client::builder().base_url(base_url).no_retries().build().unwrap();
    LARGEST.with(|largest| largest.set(0));
    let result = client.request::<serde_json::Value>(Method::Get, "/api/1/raw-data/count").await;
    let largest = LARGEST.with(Cell::get);
    assert!(matches!(result, Err(Error::Transport { .. })), "the body ends early: {result:?}");
    assert!(largest < 1024 * 1024, "a call that received 30 bytes allocated {largest} bytes at once");
}
