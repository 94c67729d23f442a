//! A decision on a request built from borrowed strings allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use meshgate::request::{Destination, Http, Pairs, Source};
use meshgate::{Engine, PolicySet, Request};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// The one unsafe block of the workspace outside dependencies: a counting allocator for this
// test. The library itself forbids unsafe code.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn deciding_allocates_nothing() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/mesh/policy.mgp"
    ))
    .unwrap();
    let set = PolicySet::parse(&text, "policy.mgp").unwrap();
    let engine = Engine::new(&set);
    static LABELS: [(Cow<'static, str>, Cow<'static, str>); 1] =
        [(Cow::Borrowed("team"), Cow::Borrowed("sre"))];
    let requests = [
        Request {
            source: Source {
                principal: Some(Cow::Borrowed("spiffe://cluster.local/ns/shop/sa/frontend")),
                ..Source::default()
            },
            destination: Destination {
                service: Some(Cow::Borrowed("payments.prod.svc.cluster.local")),
                ..Destination::default()
            },
            request: Http {
                method: Some(Cow::Borrowed("GET")),
                path: Some(Cow::Borrowed("/api/export/x?y=1")),
                ..Http::default()
            },
            ..Request::default()
        },
        Request {
            source: Source {
                namespace: Some(Cow::Borrowed("ops")),
                labels: Pairs::borrowed(&LABELS),
                ip: Some("10.1.2.3".parse().unwrap()),
                ..Source::default()
            },
            destination: Destination {
                namespace: Some(Cow::Borrowed("prod")),
                ..Destination::default()
            },
            request: Http {
                method: Some(Cow::Borrowed("POST")),
                path: Some(Cow::Borrowed("/api/admin/users")),
                ..Http::default()
            },
            time: Some("2026-03-30T09:00:00Z".parse().unwrap()),
            ..Request::default()
        },
        Request {
            source: Source {
                namespace: Some(Cow::Borrowed("legacy")),
                ..Source::default()
            },
            request: Http {
                method: Some(Cow::Borrowed("GET")),
                path: Some(Cow::Borrowed("/api/admin/x")),
                ..Http::default()
            },
            ..Request::default()
        },
    ];
    let expected = [true, true, false];
    // Warm up: anything lazily initialised (time zone caches) is not per decision.
    for r in &requests {
        let _ = engine.decide(r);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..1_000 {
        for (r, want) in requests.iter().zip(expected) {
            let d = engine.decide(r);
            assert_eq!(d.allowed, want);
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations during 3,000 decisions");
}
