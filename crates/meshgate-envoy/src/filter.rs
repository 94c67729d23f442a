//! The proxy-wasm glue: the root context loads the configuration, each HTTP context decides its
//! request. Everything else (configuration, attribute mapping, outcomes) lives in modules that
//! build and are tested natively; this module only moves values across the ABI.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as WasmAction, ContextType, LogLevel, MapType, MetricType};

use crate::load::{self, Failed, Loaded};
use crate::mapping::{self, Attributes};
use crate::outcome::{self, Action, Counters, Outcome};

#[cfg(target_arch = "wasm32")]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::new()) });
}}

/// The counters, defined through the ABI.
pub const COUNTERS: [&str; 5] = [
    "meshgate.allowed",
    "meshgate.denied",
    "meshgate.dry_run_denied",
    "meshgate.audited",
    "meshgate.errors",
];

/// Metric ids in the order of [`COUNTERS`]; `None` when the proxy refused one.
#[derive(Clone, Copy, Debug, Default)]
struct Metrics([Option<u32>; 5]);

impl Metrics {
    fn define() -> Metrics {
        Metrics(COUNTERS.map(|name| hostcalls::define_metric(MetricType::Counter, name).ok()))
    }

    fn count(&self, c: Counters) {
        let moved = [c.allowed, c.denied, c.dry_run_denied, c.audited, c.errors];
        for (id, moved) in self.0.iter().zip(moved) {
            if let (Some(id), true) = (id, moved) {
                // A counter the proxy refuses to move is not worth failing the request over.
                let _ = hostcalls::increment_metric(*id, 1);
            }
        }
    }
}

/// What a configuration left behind, shared by the root and its HTTP contexts.
#[derive(Debug)]
enum Policy {
    Loaded(Loaded),
    Failed(Failed),
}

#[derive(Debug)]
struct State {
    policy: Policy,
    metrics: Metrics,
}

struct Root {
    state: Rc<State>,
}

impl Root {
    fn new() -> Root {
        Root {
            // Until a configuration arrives, fail closed.
            state: Rc::new(State {
                policy: Policy::Failed(Failed {
                    settings: crate::config::FailureSettings {
                        allow: false,
                        dry_run: false,
                        reject: false,
                    },
                    decision_log: false,
                    summary: "no configuration yet".to_string(),
                    diagnostics: Vec::new(),
                }),
                metrics: Metrics::default(),
            }),
        }
    }
}

fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let policy = match load::load(&bytes) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    log(LogLevel::Warn, &format!("meshgate: policy warning\n{w}"));
                }
                log(
                    LogLevel::Info,
                    &format!(
                        "meshgate: policy loaded: {} rules, mode {}",
                        loaded.engine.rules().len(),
                        loaded.config.mode.name()
                    ),
                );
                Policy::Loaded(loaded)
            }
            Err(failed) => {
                // A broken update must not take down a proxy that serves a good policy: keep it
                // (as `SharedEngine` keeps the last good version), and say so loudly.
                if let Policy::Loaded(previous) = &self.state.policy {
                    log(
                        LogLevel::Error,
                        &format!(
                            "meshgate: {}; keeping the policy loaded before ({} rules)",
                            failed.summary,
                            previous.engine.rules().len()
                        ),
                    );
                    for d in &failed.diagnostics {
                        log(LogLevel::Error, &format!("meshgate: {d}"));
                    }
                    self.state.metrics.count(Counters {
                        errors: true,
                        ..Counters::default()
                    });
                    return true;
                }
                if failed.settings.reject {
                    // Envoy then refuses the configuration: an LDS or ECDS update is rejected
                    // and the listener it would have replaced keeps deciding.
                    log(
                        LogLevel::Error,
                        &format!(
                            "meshgate: {}; the configuration is rejected (reject_invalid)",
                            failed.summary
                        ),
                    );
                    for d in &failed.diagnostics {
                        log(LogLevel::Error, &format!("meshgate: {d}"));
                    }
                    return false;
                }
                let then = if failed.settings.dry_run {
                    "every request continues (dry-run)"
                } else if failed.settings.allow {
                    "every request continues (failure_mode_allow)"
                } else {
                    "every request is denied with 503"
                };
                log(
                    LogLevel::Error,
                    &format!("meshgate: {}; {then}", failed.summary),
                );
                for d in &failed.diagnostics {
                    log(LogLevel::Error, &format!("meshgate: {d}"));
                }
                Policy::Failed(failed)
            }
        };
        let metrics = Metrics::define();
        if let Policy::Failed(_) = policy {
            metrics.count(Counters {
                errors: true,
                ..Counters::default()
            });
        }
        self.state = Rc::new(State { policy, metrics });
        // Accepted even when it failed: the filter then answers every request itself (503 or
        // continue, as configured), whatever the proxy's own failure policy says.
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            state: Rc::clone(&self.state),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    state: Rc<State>,
}

impl Context for Http {}

/// The attributes of the current request, read through the ABI.
struct Host;

impl Attributes for Host {
    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, String> {
        hostcalls::get_property(path.to_vec()).map_err(|s| format!("{s:?}"))
    }

    fn headers(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        hostcalls::get_map_bytes(MapType::HttpRequestHeaders).map_err(|s| format!("{s:?}"))
    }

    fn now_nanos(&self) -> Result<i128, String> {
        let now = hostcalls::get_current_time().map_err(|s| format!("{s:?}"))?;
        let since = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the clock is before 1970".to_string())?;
        Ok(since.as_nanos() as i128)
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> WasmAction {
        let state = &*self.state;
        let outcome: Outcome = match &state.policy {
            Policy::Loaded(l) => match mapping::request(&Host, &l.config, l.needs) {
                Ok(request) => outcome::decided(&l.config, &request, &l.engine.decide(&request)),
                Err(e) => outcome::refused(&l.config, &e.0),
            },
            Policy::Failed(f) => outcome::not_loaded(f.settings, f.decision_log),
        };
        state.metrics.count(outcome.counters);
        if let Some(line) = &outcome.log {
            log(LogLevel::Info, line);
        }
        match outcome.action {
            Action::Continue => WasmAction::Continue,
            Action::Respond(r) => {
                let headers: Vec<(&str, &str)> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                self.send_http_response(r.status, headers, Some(r.body.as_bytes()));
                WasmAction::Pause
            }
        }
    }
}
