//! A decision on a request built from borrowed strings allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use meshgate::request::{Field, Pairs};
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
    // Built from borrowed strings through the builder, which copies none of them.
    let build = |fields: &[(Field, &'static str)]| {
        let mut b = Request::builder();
        for (field, value) in fields {
            b.str(*field, *value).unwrap();
        }
        b
    };
    let first = build(&[
        (
            Field::SourcePrincipal,
            "spiffe://cluster.local/ns/shop/sa/frontend",
        ),
        (Field::DestinationService, "payments.prod.svc.cluster.local"),
        (Field::RequestMethod, "GET"),
        (Field::RequestPath, "/api/export/x?y=1"),
    ]);
    let mut second = build(&[
        (Field::SourceNamespace, "ops"),
        (Field::SourceIp, "10.1.2.3"),
        (Field::DestinationNamespace, "prod"),
        (Field::RequestMethod, "POST"),
        (Field::RequestPath, "/api/admin/users"),
        (Field::Time, "2026-03-30T09:00:00Z"),
    ]);
    second
        .pairs(Field::SourceLabels, Pairs::borrowed(&LABELS))
        .unwrap();
    let third = build(&[
        (Field::SourceNamespace, "legacy"),
        (Field::RequestMethod, "GET"),
        (Field::RequestPath, "/api/admin/x"),
    ]);
    let requests = [first, second, third].map(|b| b.finish().unwrap());
    assert!(matches!(
        requests[0].source.principal,
        Some(Cow::Borrowed(_))
    ));
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
