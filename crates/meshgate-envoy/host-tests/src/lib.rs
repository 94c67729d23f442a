//! A harness that runs the meshgate Envoy filter's `.wasm` in `proxy-wasm-host` (an independent,
//! wasmtime-based implementation of the proxy-wasm ABI 0.2.1) and plays the proxy's part:
//! plugin configuration, request headers, properties, the clock, metrics and logs.
//!
//! Where `proxy-wasm-host` leaves a service to the embedder, the harness provides it:
//!
//! - [`Metrics`]: a `SharedServices` whose counters can be read back by name (the crate's
//!   `InMemoryStore` keeps them write-only).
//! - [`Stream`]: the request's header map, the Envoy properties (`source.address`, `xds.node.metadata`,
//!   `metadata`, …) in Envoy's serialization, and the local response the filter sends.
//! - [`FixedClock`]: a clock the test sets.
//!
//! The encoders here ([`proto`], [`pairs`]) are written from the protobuf and proxy-wasm formats,
//! independently of the filter's decoders.

pub mod conformance;
pub mod proto;
pub mod time;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use proxy_wasm_host::abi::v0_2_1::types::{Action, LogLevel, MapType, MetricType, Status};
use proxy_wasm_host::abi::v0_2_1::{
    Access, Clock, ContextId, Guest, GuestError, Host, Invocation, LocalResponse, LogContext,
    LogSink, MetricId, PluginConfig, SharedServices, Started, StreamState, VmServices,
};
use proxy_wasm_host::{Engine, HeaderMap, Limits, Module, VecHeaderMap};

/// The filter's `.wasm`: `$MESHGATE_ENVOY_WASM` (set by `cargo xtask envoy --test`).
pub fn wasm_path() -> PathBuf {
    match std::env::var_os("MESHGATE_ENVOY_WASM") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "MESHGATE_ENVOY_WASM is not set: run the host tests with `cargo xtask envoy --test`, \
             which builds the filter and points this variable at its .wasm"
        ),
    }
}

/// The engine and the compiled filter, shared by every test of a process (compiling the module
/// is the slow part).
pub struct Runtime {
    module: Module,
    host: Host,
}

impl Runtime {
    /// The process-wide runtime.
    pub fn get() -> &'static Runtime {
        static RUNTIME: OnceLock<Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            let path = wasm_path();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let engine = Engine::new().expect("wasmtime engine");
            let module = Module::new(&engine, &bytes).expect("the filter compiles");
            let host = Host::new(&engine).expect("host functions link");
            Runtime { module, host }
        })
    }
}

/// Log lines the filter wrote, with their levels.
#[derive(Default)]
pub struct Logs(Mutex<Vec<(LogLevel, String)>>);

impl LogSink for Logs {
    fn log(&self, _: LogContext<'_>, level: LogLevel, message: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((level, String::from_utf8_lossy(message).into_owned()));
    }
}

/// A clock that stands still where the test puts it.
#[derive(Default)]
pub struct FixedClock(AtomicU64);

impl Clock for FixedClock {
    fn realtime_nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn monotonic_nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters and gauges by name, readable by the test.
#[derive(Default)]
pub struct Metrics(Mutex<Vec<(String, MetricType, u64)>>);

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, MetricType, u64)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value of a metric, `None` if the filter never defined it.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.lock()
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, v)| *v)
    }

    fn slot(&self, metric: MetricId) -> usize {
        metric.get() as usize - 1
    }
}

impl SharedServices for Metrics {
    fn define_metric(
        &self,
        _: Invocation,
        _vm_id: &[u8],
        kind: MetricType,
        name: &[u8],
    ) -> Result<MetricId, Status> {
        let name = String::from_utf8_lossy(name).into_owned();
        let mut m = self.lock();
        let index = match m.iter().position(|(n, _, _)| *n == name) {
            Some(i) => i,
            None => {
                m.push((name, kind, 0));
                m.len() - 1
            }
        };
        MetricId::try_from(index as u32 + 1).map_err(|_| Status::InternalFailure)
    }

    fn increment_metric(&self, _: Invocation, metric: MetricId, delta: i64) -> Result<(), Status> {
        let slot = self.slot(metric);
        let mut m = self.lock();
        let entry = m.get_mut(slot).ok_or(Status::NotFound)?;
        entry.2 = entry
            .2
            .checked_add_signed(delta)
            .ok_or(Status::BadArgument)?;
        Ok(())
    }

    fn record_metric(&self, _: Invocation, metric: MetricId, value: u64) -> Result<(), Status> {
        let slot = self.slot(metric);
        let mut m = self.lock();
        m.get_mut(slot).ok_or(Status::NotFound)?.2 = value;
        Ok(())
    }

    fn get_metric(&self, _: Invocation, metric: MetricId) -> Result<u64, Status> {
        let slot = self.slot(metric);
        self.lock().get(slot).map(|e| e.2).ok_or(Status::NotFound)
    }
}

/// One request as Envoy would present it: request headers and properties.
#[derive(Clone, Debug, Default)]
pub struct EnvoyRequest {
    /// Request headers in order (`:method`, `:path`, `:authority`, then the others), lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Properties by dotted path, serialized as Envoy serializes them.
    pub properties: HashMap<String, Vec<u8>>,
}

impl EnvoyRequest {
    /// `GET` on `path` with authority `host`.
    pub fn get(path: &str) -> EnvoyRequest {
        EnvoyRequest::default()
            .header(":method", "GET")
            .header(":path", path)
            .header(":authority", "payments.example.com")
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_string(), value.as_bytes().to_vec()));
        self
    }

    /// Sets a property by its dotted path (`source.address`).
    pub fn property(mut self, path: &str, value: impl Into<Vec<u8>>) -> Self {
        self.properties.insert(path.to_string(), value.into());
        self
    }

    /// `connection.uri_san_peer_certificate`: the mTLS peer.
    pub fn peer(self, uri_san: &str) -> Self {
        self.property("connection.uri_san_peer_certificate", uri_san)
    }

    /// `destination.port`, an int64 property.
    pub fn port(self, port: i64) -> Self {
        self.property("destination.port", port.to_le_bytes().to_vec())
    }

    /// `metadata` (dynamic metadata) with a JWT payload under
    /// `envoy.filters.http.jwt_authn` / `jwt_payload`.
    pub fn jwt(self, claims: &serde_json::Value) -> Self {
        self.jwt_under("jwt_payload", claims)
    }

    /// [`EnvoyRequest::jwt`] with the payload under `key` (Envoy's `payload_in_metadata`; Istio
    /// uses the issuer).
    pub fn jwt_under(self, key: &str, claims: &serde_json::Value) -> Self {
        let payload = proto::struct_value_field(key, claims);
        let md = proto::metadata(&[("envoy.filters.http.jwt_authn", payload)]);
        self.property("metadata", md)
    }
}

/// The stream state lent to the guest for one request.
pub struct Stream {
    headers: VecHeaderMap,
    /// Properties as (path segments, value): looked up without allocating, so that the
    /// harness adds little to what the benchmark measures.
    properties: Vec<(Vec<Vec<u8>>, Vec<u8>)>,
    /// The local response the filter sent, if any.
    pub response: Option<LocalResponse<'static>>,
}

impl Stream {
    fn new(request: &EnvoyRequest) -> Stream {
        let mut headers = VecHeaderMap::default();
        for (k, v) in &request.headers {
            let _ = headers.add(k.as_bytes(), v);
        }
        let properties = request
            .properties
            .iter()
            .map(|(path, v)| {
                let segments = path.split('.').map(|s| s.as_bytes().to_vec()).collect();
                (segments, v.clone())
            })
            .collect();
        Stream {
            headers,
            properties,
            response: None,
        }
    }
}

impl StreamState for Stream {
    fn header_map(
        &mut self,
        _: Invocation,
        _: Access,
        map: MapType,
    ) -> Result<&mut dyn HeaderMap, Status> {
        match map {
            MapType::HttpRequestHeaders => Ok(&mut self.headers),
            _ => Err(Status::BadArgument),
        }
    }

    fn property(&mut self, _: Invocation, path: &[&[u8]], out: &mut Vec<u8>) -> Result<(), Status> {
        let (_, value) = self
            .properties
            .iter()
            .find(|(segments, _)| segments.iter().map(Vec::as_slice).eq(path.iter().copied()))
            .ok_or(Status::NotFound)?;
        out.extend_from_slice(value);
        Ok(())
    }

    fn send_local_response(
        &mut self,
        _: Invocation,
        response: LocalResponse<'_>,
    ) -> Result<(), Status> {
        self.response = Some(response.into_owned());
        Ok(())
    }
}

/// What the filter did with one request.
#[derive(Debug)]
pub struct Reply {
    /// What `proxy_on_http_request_headers` returned.
    pub action: Action,
    /// The local response, when the filter sent one.
    pub response: Option<LocalResponse<'static>>,
}

impl Reply {
    /// Whether the request went on upstream.
    pub fn continued(&self) -> bool {
        self.action == Action::Continue && self.response.is_none()
    }

    /// Status of the local response.
    pub fn status(&self) -> Option<u32> {
        self.response.as_ref().map(|r| r.status_code)
    }

    /// A header of the local response.
    pub fn header(&self, name: &str) -> Option<String> {
        self.response
            .as_ref()
            .and_then(|r| r.header(name.as_bytes()))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Body of the local response.
    pub fn body(&self) -> String {
        self.response
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .unwrap_or_default()
    }
}

/// One filter instance (a VM with one root context), as one Envoy worker would hold it.
pub struct Plugin {
    guest: Guest,
    root: ContextId,
    /// Everything the filter logged.
    pub logs: Arc<Logs>,
    /// Its counters.
    pub metrics: Arc<Metrics>,
    clock: Arc<FixedClock>,
}

impl Plugin {
    /// Starts the filter with a plugin configuration; panics unless the root serves.
    pub fn start(configuration: &str) -> Plugin {
        Plugin::start_with(configuration, &Limits::default())
    }

    /// [`Plugin::start`] with resource limits (the benchmark's large policies need more than
    /// one second of CPU and 128 MiB to compile).
    pub fn start_with(configuration: &str, limits: &Limits) -> Plugin {
        Plugin::try_start(configuration, limits).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the filter, or says how the host saw it fail to start (with the filter's logs).
    pub fn try_start(configuration: &str, limits: &Limits) -> Result<Plugin, String> {
        let rt = Runtime::get();
        let logs = Arc::new(Logs::default());
        let metrics = Arc::new(Metrics::default());
        let clock = Arc::new(FixedClock::default());
        let services = VmServices::new(logs.clone())
            .with_clock(clock.clone())
            .with_shared(metrics.clone())
            .with_log_level(LogLevel::Trace);
        let mut guest = Guest::new(&rt.host, &rt.module, services, limits).expect("guest");
        let plugin = PluginConfig::new()
            .with_name("meshgate")
            .with_root_id("meshgate")
            .with_configuration(configuration.as_bytes().to_vec());
        let root = match guest.start(plugin) {
            Ok(Started::Serving(root)) => root,
            other => {
                let lines: Vec<String> = logs
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .map(|(_, l)| l.clone())
                    .collect();
                return Err(format!(
                    "the filter did not start: {other:?}\n{}",
                    lines.join("\n")
                ));
            }
        };
        Ok(Plugin {
            guest,
            root,
            logs,
            metrics,
            clock,
        })
    }

    /// Delivers a new plugin configuration to the running root (`proxy_on_configure` again);
    /// returns whether the filter accepted it.
    pub fn reconfigure(&mut self, configuration: &str) -> bool {
        let plugin = PluginConfig::new()
            .with_name("meshgate")
            .with_root_id("meshgate")
            .with_configuration(configuration.as_bytes().to_vec());
        let root = self.root;
        let stream = Stream::new(&EnvoyRequest::get("/"));
        let (accepted, _) = self
            .guest
            .with(stream, |scope| scope.on_configure(root, plugin));
        accepted.expect("the filter handled the configuration")
    }

    /// Sets the proxy's clock, in nanoseconds since the Unix epoch.
    pub fn set_time(&self, nanos: u64) {
        self.clock.0.store(nanos, Ordering::Relaxed);
    }

    /// Runs one request through a new HTTP context: create, request headers, done, log, delete.
    pub fn request(&mut self, request: &EnvoyRequest) -> Reply {
        self.try_request(request)
            .expect("the filter handled the request")
    }

    /// [`Plugin::request`], returning the guest's failure instead of panicking.
    pub fn try_request(&mut self, request: &EnvoyRequest) -> Result<Reply, GuestError> {
        let stream = Stream::new(request);
        let count = request.headers.len() as u32;
        let root = self.root;
        let (action, stream) = self.guest.with(stream, |scope| {
            let ctx = scope.on_context_create(Some(root))?;
            let action = scope.on_request_headers(ctx, count, true)?;
            scope.on_done(ctx)?;
            scope.on_log(ctx)?;
            scope.on_delete(ctx)?;
            Ok::<_, GuestError>(action)
        });
        Ok(Reply {
            action: action?,
            response: stream.response,
        })
    }

    /// Runs `request` `times` times, each in a new HTTP context, and returns how long each
    /// `proxy_on_http_request_headers` call took (context creation and deletion not included).
    pub fn time_request_headers(
        &mut self,
        request: &EnvoyRequest,
        times: usize,
    ) -> Result<Vec<std::time::Duration>, GuestError> {
        let count = request.headers.len() as u32;
        let root = self.root;
        let mut samples = Vec::with_capacity(times);
        for _ in 0..times {
            let stream = Stream::new(request);
            let (took, _) = self.guest.with(stream, |scope| {
                let ctx = scope.on_context_create(Some(root))?;
                let start = std::time::Instant::now();
                scope.on_request_headers(ctx, count, true)?;
                let took = start.elapsed();
                scope.on_done(ctx)?;
                scope.on_log(ctx)?;
                scope.on_delete(ctx)?;
                Ok::<_, GuestError>(took)
            });
            samples.push(took?);
        }
        Ok(samples)
    }

    /// A counter's value (0 when it was never defined).
    pub fn counter(&self, name: &str) -> u64 {
        self.metrics.get(name).unwrap_or(0)
    }

    /// All log lines.
    pub fn log_lines(&self) -> Vec<(LogLevel, String)> {
        self.logs
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The decision-log lines (JSON objects), oldest first.
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        self.log_lines()
            .into_iter()
            .filter(|(level, _)| *level == LogLevel::Info)
            .filter_map(|(_, l)| serde_json::from_str::<serde_json::Value>(&l).ok())
            .filter(|v| v.get("allowed").is_some())
            .collect()
    }

    /// The last decision-log line.
    pub fn last_decision(&self) -> serde_json::Value {
        self.decisions().pop().expect("a decision-log line")
    }

    /// Clears the log.
    pub fn clear_logs(&self) {
        self.logs
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The proxy-wasm pairs format, as the proxy writes it.
pub mod pairs {
    /// Encodes `(key, value)` pairs.
    pub fn encode(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = (entries.len() as u32).to_le_bytes().to_vec();
        for (k, v) in entries {
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        for (k, v) in entries {
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        out
    }
}
