//! `make dev`: the whole backend on this machine. Starts the pinned emulator
//! on 127.0.0.1:$EMULATOR_PORT (4566), provisions it from template.yaml, and
//! serves the api function's router on http://127.0.0.1:$PORT (3000).
//! State lives in .devstack/ and survives restarts (`make dev-reset` clears it).

use cc_domain::api_key::OperatorKey;
use cc_domain::clock::{Clock, OffsetClock};
use cc_domain::ids::TenantId;
use cc_domain::ports::TenantStore;
use cc_domain::tenant::NewTenant;
use cc_domain::unsubscribe::LinkSigner;
use devstack::{Emulator, LocalFunctions, Template, Wiring};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// Bumped when stored items change shape (2: lead ids derived from addresses;
/// 3: the feed index GSI4, counters, time-ordered activity ids, and three SES
/// configuration sets per tenant with event destinations, which the SES
/// simulator requires of every send).
const DATA_VERSION: u32 = 3;

/// What the devstack remembers between runs.
#[derive(Serialize, Deserialize)]
struct DevState {
    /// The layout of the stored data; older local data is cleared at start.
    #[serde(default)]
    data_version: u32,
    operator_key: String,
    /// Signs unsubscribe links; kept so links in mail sent earlier still work.
    #[serde(default = "LinkSigner::generate_key")]
    link_key: String,
    demo_tenant_id: Option<String>,
    demo_admin_key: Option<String>,
}

fn port_from_env(name: &str, default: u16) -> Result<u16, Box<dyn std::error::Error>> {
    match std::env::var(name) {
        Ok(text) if !text.is_empty() => Ok(text
            .parse()
            .map_err(|_| format!("{name}={text} is not a port number"))?),
        _ => Ok(default),
    }
}

fn load_state(path: &Path) -> Option<DevState> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn save_state(path: &Path, state: &DevState) -> std::io::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(state).expect("state serialises"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cc_runtime::init_dev_tracing();
    let root = devstack::project_root();
    let emulator_port = port_from_env("EMULATOR_PORT", 4566)?;
    let api_port = port_from_env("PORT", 3000)?;
    let state_dir = root.join(".devstack");
    std::fs::create_dir_all(&state_dir)?;
    let state_path = state_dir.join("state.json");
    let recorded = state_dir.join("emulator-state.jsonl");
    let mut state = load_state(&state_path).unwrap_or(DevState {
        data_version: DATA_VERSION,
        operator_key: OperatorKey::generate_secret(),
        link_key: LinkSigner::generate_key(),
        demo_tenant_id: None,
        demo_admin_key: None,
    });
    if state.data_version < DATA_VERSION && recorded.exists() {
        println!("The local data predates this version's storage layout: starting with an empty stack.");
        std::fs::remove_file(&recorded)?;
        state.demo_tenant_id = None;
        state.demo_admin_key = None;
    }
    state.data_version = DATA_VERSION;

    println!("Starting the AWS emulator (moto) on 127.0.0.1:{emulator_port} ...");
    let emulator = Emulator::start(
        &root,
        emulator_port,
        Some(&state_dir.join("emulator.log")),
        Some(&recorded),
    )?;
    let config = devstack::sdk_config(emulator.endpoint()).await;

    let template = Template::load(&root.join("template.yaml"))?;
    let stack = devstack::provision(&config, &template, "cc-local-").await?;
    for (logical_id, resource) in &stack.resources {
        println!("  provisioned {logical_id}: {resource:?}");
    }
    let (_, unresolved) = stack.function_environment(&template, "ApiFunction")?;
    if !unresolved.is_empty() {
        println!("  (not needed locally: {})", unresolved.join(", "));
    }

    let operator_key = match std::env::var("OPERATOR_API_KEY") {
        Ok(key) if !key.trim().is_empty() => key,
        _ => state.operator_key.clone(),
    };

    let link_key = match std::env::var("LINK_SIGNING_KEY") {
        Ok(key) if !key.trim().is_empty() => key,
        _ => state.link_key.clone(),
    };

    let clock = OffsetClock::new();
    let base = format!("http://127.0.0.1:{api_port}");
    let wiring = Wiring {
        operator_key: operator_key.clone(),
        link_key,
        public_url: base.clone(),
        clock: Arc::new(clock.clone()),
    };
    let functions = LocalFunctions::wire(&config, &template, &stack, &wiring)?;
    let store = functions.store.clone();
    // The emulator does not trigger functions: deliver each of ingest's queues to it here.
    let mut delivery_loops = Vec::new();
    for trigger in functions.ingest_triggers.clone() {
        let functions = functions.clone();
        delivery_loops.push(tokio::spawn(async move {
            loop {
                match functions.deliver_to_ingest(&trigger, 1, 5).await {
                    Ok(delivery) if delivery.received > 0 => continue,
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(err) => {
                        tracing::warn!(queue = %trigger.logical_id, error = %err, "could not receive; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                }
            }
        }));
    }
    let demo_exists = match state
        .demo_tenant_id
        .as_deref()
        .and_then(|id| id.parse::<TenantId>().ok())
    {
        Some(id) => store.get_tenant(id).await?.is_some(),
        None => false,
    };
    if !demo_exists {
        let (tenant, key) = cc_domain::operations::tenants::create_tenant(
            store.as_ref(),
            NewTenant {
                name: "Demo Agency".into(),
            },
            chrono::Utc::now(),
        )
        .await?;
        state.demo_tenant_id = Some(tenant.id.to_string());
        state.demo_admin_key = Some(key.secret.expose().to_string());
        println!("Created the demo tenant \"Demo Agency\" ({}).", tenant.id);
    }
    save_state(&state_path, &state)?;
    let demo_key = state.demo_admin_key.clone().unwrap_or_default();

    // The SES events queue (fed by the local SES simulator through SNS) to the ses-events function.
    {
        let functions = functions.clone();
        delivery_loops.push(tokio::spawn(async move {
            loop {
                match functions.deliver_to_ses_events(1, 30).await {
                    Ok(delivery) if delivery.received > 0 => continue,
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not receive SES events; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                }
            }
        }));
    }

    // The inbound queue (fed through SNS by /dev/inbound and the SES simulator) to the inbound function.
    {
        let functions = functions.clone();
        delivery_loops.push(tokio::spawn(async move {
            loop {
                match functions.deliver_to_inbound(1, 30).await {
                    Ok(delivery) if delivery.received > 0 => continue,
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not receive inbound mail; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                }
            }
        }));
    }

    // EventBridge Scheduler's one-minute tick, locally, on the devstack's clock.
    let ticking = Arc::new(tokio::sync::Mutex::new(()));
    // The send queue to the sender, as its SQS trigger would.
    {
        let functions = functions.clone();
        let ticking = ticking.clone();
        delivery_loops.push(tokio::spawn(async move {
            loop {
                // Not while a clock advance runs: it delivers its own sends, in order.
                let delivered = {
                    let _ticking = ticking.lock().await;
                    functions.deliver_to_sender(1, 60).await
                };
                match delivered {
                    Ok(delivery) if delivery.received > 0 => continue,
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not receive send jobs; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                }
            }
        }));
    }

    let tick_loop = {
        let scheduler = functions.scheduler.clone();
        let clock = clock.clone();
        let ticking = ticking.clone();
        tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                let _ticking = ticking.lock().await;
                if let Err(err) = scheduler.tick(clock.now()).await {
                    tracing::warn!(error = %err, "scheduler tick failed; the next one retries");
                }
            }
        })
    };
    let dev = devstack::dev_routes::DevControls {
        functions: functions.clone(),
        clock: clock.clone(),
        emulator_endpoint: emulator.endpoint().to_string(),
        ticking,
        http: reqwest::Client::new(),
    };
    let router = api::router(functions.api.clone()).merge(devstack::dev_routes::dev_routes(dev));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", api_port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{api_port} ({e}); set PORT to another port"))?;
    println!(
        r#"
Customer Center is running at {base}  (emulator: {emulator}, state: .devstack/)

  Operator key : {operator_key}
  Demo tenant  : {tenant}
  Admin API key: {demo_key}

Try it:
  export KEY={demo_key}
  curl -s -X POST {base}/v1/campaigns -H "Authorization: Bearer $KEY" \
       -H 'Content-Type: application/json' -d '{{"name": "Q1 outreach"}}'
  curl -s {base}/v1/campaigns -H "X-Api-Key: $KEY"
  curl -s -X POST {base}/v1/campaigns/<campaign id>/leads -H "Authorization: Bearer $KEY" \
       -H 'Content-Type: application/json' -d '[{{"email": "ann@example.com", "first_name": "Ann"}}]'
  curl -s {base}/v1/campaigns/<campaign id>/leads -H "Authorization: Bearer $KEY"
  curl -s -X POST {base}/v1/campaigns/<campaign id>/imports -H "Authorization: Bearer $KEY" \
       -H 'Content-Type: text/csv' --data-binary @leads.csv

API reference: {base}/v1/openapi.json   Press Ctrl-C to stop.
"#,
        emulator = emulator.endpoint(),
        tenant = state.demo_tenant_id.as_deref().unwrap_or_default(),
    );

    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("\nStopping the API and the emulator ...");
        })
        .await?;
    for delivery_loop in delivery_loops {
        delivery_loop.abort();
    }
    tick_loop.abort();
    drop(emulator);
    Ok(())
}
