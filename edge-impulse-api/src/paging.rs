//! Paging through list operations: [`Pages`] and [`Items`], the streams behind the
//! `.pages()` and `.items()` methods of the generated calls.
//!
//! The work that does not depend on the page type (building the next request, sending it,
//! spotting a repeated page, deciding where to stop) lives in one non-generic [`Pager`];
//! per operation there is only the decode and two small functions that read a page.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::Stream;

use crate::error::{Error, Result};
use crate::data::params::ToParam;
use crate::transport::request::{FromResponse, Prepared, RawBody, RawResponse, Request};
use crate::Client;

/// The page size when the call sets no `limit` and the stream no [`Pages::page_size`].
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// The query parameters one paged operation takes; one `static` per operation.
#[derive(Debug)]
pub(crate) struct PageParams {
    /// Page size (`limit`).
    pub limit: &'static str,
    /// Position in items (`offset`).
    pub offset: &'static str,
    /// The answer's member that holds the page's items (`jobs`).
    pub items: &'static str,
}

/// What the runtime reads from one decoded page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageInfo {
    /// How many items the page holds.
    pub items: usize,
    /// The answer's count of all items, if it has one.
    pub total: Option<i64>,
}

type InFlight<'c> = Pin<Box<dyn Future<Output = Result<RawResponse>> + Send + 'c>>;

/// The type-independent state of a paged listing.
struct Pager<'c> {
    client: &'c Client,
    /// The call as the user built it, without the paging parameters.
    template: Prepared,
    params: &'static PageParams,
    page_size: u64,
    /// Position of the next page.
    offset: u64,
    pages_received: u64,
    /// The latest total count the server gave.
    total: Option<u64>,
    /// The previous page's items as JSON: the same items again mean the position is ignored.
    previous_items: Option<serde_json::Value>,
    in_flight: Option<InFlight<'c>>,
    done: bool,
}

/// The items of a page (the `key` member of the answer, which must be a JSON object), as JSON;
/// `None` when the answer has none or is no JSON object, which the page's decode reports.
/// Only the items are kept: the other members are skipped without allocating.
fn page_items(body: &[u8], key: &str) -> Option<serde_json::Value> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    struct Member<'k>(&'k str);

    impl<'de> DeserializeSeed<'de> for Member<'_> {
        type Value = Option<serde_json::Value>;

        fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Self::Value, D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Member<'_> {
        type Value = Option<serde_json::Value>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<crate::codec::Key<'de>>()? {
                if key.as_str() == self.0 {
                    found = Some(map.next_value()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }

    Member(key).deserialize(&mut serde_json::Deserializer::from_slice(body)).ok().flatten()
}

/// What to do with a decoded page.
enum Step {
    Yield,
    /// An empty page after others: the end, not worth yielding.
    End,
}

impl<'c> Pager<'c> {
    // Called by the generated paged operations: unused when no API group with one is compiled.
    #[allow(dead_code)]
    fn new(client: &'c Client, mut template: Prepared, params: &'static PageParams) -> Self {
        // A `limit` or `offset` set on the call is where paging starts from.
        let mut take = |name: &str| {
            let value = template.query.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.parse::<u64>().ok());
            template.query.retain(|(n, _)| n != name);
            value
        };
        let page_size = take(params.limit).filter(|&size| size > 0).unwrap_or(DEFAULT_PAGE_SIZE);
        let offset = take(params.offset).unwrap_or(0);
        Pager {
            client,
            template,
            params,
            page_size,
            offset,
            pages_received: 0,
            total: None,
            previous_items: None,
            in_flight: None,
            done: false,
        }
    }

    /// The request for the page at `self.offset`.
    fn next_request(&mut self) -> Prepared {
        let mut prepared = self.template.resend_copy();
        // Reported (once) by the first request, which ends the stream.
        prepared.error = self.template.error.take();
        prepared.query.push((self.params.limit.into(), self.page_size.to_param()));
        prepared.query.push((self.params.offset.into(), self.offset.to_param()));
        prepared
    }

    /// The next raw page: `None` once paging has ended; an error ends it.
    fn poll_raw(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RawResponse>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.in_flight.is_none() {
            let request = self.next_request();
            self.in_flight = Some(self.client.execute(Box::new(request)));
        }
        let Some(in_flight) = self.in_flight.as_mut() else { return Poll::Ready(None) };
        let result = ready!(in_flight.as_mut().poll(cx));
        self.in_flight = None;
        let raw = match result {
            Ok(raw) => raw,
            Err(error) => return Poll::Ready(Some(Err(self.fail(error)))),
        };
        // By the items, not the whole answer: a server that ignores the position may still
        // change other bytes (a request id, a timestamp) from one answer to the next.
        if let RawBody::Bytes(body) = &raw.body {
            let items = page_items(body, self.params.items);
            if items.is_some() && items == self.previous_items {
                let error = Error::PageRepeated { operation: raw.operation.id, offset_param: self.params.offset, offset: self.offset };
                return Poll::Ready(Some(Err(self.fail(error))));
            }
            self.previous_items = items;
        }
        Poll::Ready(Some(Ok(raw)))
    }

    fn fail(&mut self, error: Error) -> Error {
        self.done = true;
        error
    }

    /// Moves past a decoded page and decides whether paging goes on: up to the total count
    /// when the answer has one (a server may cap the page size below the one asked for),
    /// else up to a short page; an empty page always ends it.
    fn advance(&mut self, page: PageInfo) -> Step {
        self.pages_received += 1;
        self.total = page.total.map(|total| u64::try_from(total).unwrap_or(0));
        let count = page.items as u64;
        if count == 0 {
            self.done = true;
            return if self.pages_received == 1 { Step::Yield } else { Step::End };
        }
        self.offset += count;
        self.done = match self.total {
            Some(total) => self.offset >= total,
            None => count < self.page_size,
        };
        Step::Yield
    }
}

/// The pages of a list operation, one call each, as a [`Stream`]; from `.pages()` on a
/// generated call.
///
/// The first page starts at the `offset` set on the call (0 if none) and holds `limit` items
/// (the call's `limit`, [`page_size`](Self::page_size), or [`DEFAULT_PAGE_SIZE`]); each next
/// page starts after the items received. The stream ends after the page that reaches the
/// answer's total count, when the answer has one, else after a page shorter than the page
/// size; an empty page always ends it (the first page is yielded even when empty).
///
/// Each page is one call, with that call's errors and retries; an error ends the stream
/// after it is yielded. A server that answers the next position with the previous page's
/// items again (whatever else in the answer changed) ends it with [`Error::PageRepeated`]. Dropping the stream stops paging, and
/// cancels the call in flight.
///
/// Besides [`Stream`], [`next`](Self::next) reads it without further imports.
#[must_use = "streams do nothing unless polled"]
pub struct Pages<'c, T> {
    pager: Pager<'c>,
    read_page: fn(&T) -> PageInfo,
}

impl<T> std::fmt::Debug for Pages<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("operation", &self.pager.template.operation.id)
            .field("page_size", &self.pager.page_size)
            .field("offset", &self.pager.offset)
            .field("done", &self.pager.done)
            .finish_non_exhaustive()
    }
}

impl<'c, T: FromResponse> Pages<'c, T> {
    // Called by the generated paged operations: unused when no API group with one is compiled.
    #[allow(dead_code)]
    pub(crate) fn new(request: Request<'c, T>, params: &'static PageParams, read_page: fn(&T) -> PageInfo) -> Self {
        let (client, prepared) = request.into_prepared();
        Pages { pager: Pager::new(client, prepared, params), read_page }
    }

    /// Sets how many items each page asks for (0 counts as 1); set it before the first page
    /// is read.
    pub fn page_size(mut self, size: u64) -> Self {
        self.pager.page_size = size.max(1);
        self
    }

    /// The latest total count of items the server reported, once a page with one arrived.
    pub fn total(&self) -> Option<u64> {
        self.pager.total
    }

    /// The next page, or `None` at the end (same as `StreamExt::next`).
    pub async fn next(&mut self) -> Option<Result<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The items of every page, one by one; `into_items` takes them out of a page.
    #[allow(dead_code)] // as `new`
    pub(crate) fn items<I>(self, into_items: fn(T) -> Vec<I>) -> Items<'c, T, I> {
        Items { pages: self, into_items, buffered: Vec::new().into_iter() }
    }
}

// Nothing is pinned in place: the call in flight is boxed.
impl<T> Unpin for Pages<'_, T> {}

impl<T: FromResponse> Stream for Pages<'_, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(result) = ready!(this.pager.poll_raw(cx)) else { return Poll::Ready(None) };
        // Decoded, or its error redacted, where every call ends.
        let page = match this.pager.client.finish::<T>(result, this.pager.template.sent_json()) {
            Ok(page) => page,
            Err(error) => return Poll::Ready(Some(Err(this.pager.fail(error)))),
        };
        match this.pager.advance((this.read_page)(&page)) {
            Step::Yield => Poll::Ready(Some(Ok(page))),
            Step::End => Poll::Ready(None),
        }
    }
}

/// The items of a list operation across all its pages, as a [`Stream`]; from `.items()` on a
/// generated call. Paging works as for [`Pages`]; an error is yielded after the items of the
/// pages before it, and ends the stream.
#[must_use = "streams do nothing unless polled"]
pub struct Items<'c, T, I> {
    pages: Pages<'c, T>,
    into_items: fn(T) -> Vec<I>,
    buffered: std::vec::IntoIter<I>,
}

impl<T, I> std::fmt::Debug for Items<'_, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items").field("pages", &self.pages).field("buffered", &self.buffered.len()).finish_non_exhaustive()
    }
}

impl<T: FromResponse, I> Items<'_, T, I> {
    /// Sets how many items each page asks for (0 counts as 1); set it before the first item
    /// is read.
    pub fn page_size(mut self, size: u64) -> Self {
        self.pages = self.pages.page_size(size);
        self
    }

    /// The latest total count of items the server reported, once a page with one arrived:
    /// the length of a progress bar.
    pub fn total(&self) -> Option<u64> {
        self.pages.total()
    }

    /// The next item, or `None` at the end (same as `StreamExt::next`).
    pub async fn next(&mut self) -> Option<Result<I>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<T, I> Unpin for Items<'_, T, I> {}

impl<T: FromResponse, I> Stream for Items<'_, T, I> {
    type Item = Result<I>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffered.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.buffered = (this.into_items)(page).into_iter(),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::page_items;
    use serde_json::json;

    #[test]
    fn a_pages_items_are_its_member_whatever_else_the_answer_holds() {
        let items = page_items(br#"{"requestId": "a", "jobs": [{"id": 1}, {"id": 2}], "total": {"n": 5}}"#, "jobs");
        assert_eq!(items, Some(json!([{"id": 1}, {"id": 2}])));
        // Key order inside an item and spacing do not make the items different.
        assert_eq!(page_items(br#"{"jobs":[{"id":1,"k":"x"}],"requestId":"b"}"#, "jobs"), page_items(br#"{"jobs": [{"k": "x", "id": 1}]}"#, "jobs"));
        assert_eq!(page_items(br#"{"success": true}"#, "jobs"), None);
        assert_eq!(page_items(br#"[1, 2]"#, "jobs"), None);
        assert_eq!(page_items(b"not json", "jobs"), None);
    }
}
