//! `hwdc labels …` and `hwdc audiences …`.

use hw_api::targeting::Filter;
use hw_api::types::{HardwareId, NewShippingLabel, ShippingLabelUpdate, TargetingAction};
use hw_api::{Id, LabelMilestone};
use serde_json::json;

use super::Ctx;
use crate::cli::{Audiences, CreateLabel, Labels, Until, UpdateLabel};
use crate::exit::Failure;
use crate::progress::Spinner;
use crate::rows::label_status;

fn usage(message: String) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::Config,
        message,
    }
}

/// The body of a new label from the command's options (targeting is filled from metadata).
pub(crate) fn new_label(c: &CreateLabel) -> Result<NewShippingLabel, Failure> {
    let chids: Vec<_> = c.chids.iter().map(|chid| json!({"chid": chid})).collect();
    let mut body = json!({
        "name": c.name,
        "targeting": {"restrictedToAudiences": c.audiences, "chids": chids},
    });
    match &c.partner {
        Some(partner) => {
            body["destination"] = "anotherPartner".into();
            body["recipientSpecifications"] =
                json!({"receiverPublisherId": partner, "enforceChidTargeting": false});
        }
        None => {
            body["destination"] = "windowsUpdate".into();
            let mut spec = json!({
                "isAutoInstallDuringOSUpgrade": !c.manual,
                "isAutoInstallOnApplicableSystems": !c.manual,
                "manualAcquisition": c.manual,
                "isDisclosureRestricted": false,
                "publishToWindows10s": false,
            });
            if let Some(date) = &c.go_live {
                spec["goLiveDate"] = date.as_str().into();
            }
            if !c.manual {
                spec["additionalInfoForMsApproval"] = json!({
                    "microsoftContact": c.contact,
                    "validationsPerformed": "",
                    "affectedOems": [],
                    "isRebootRequired": false,
                    "isCoEngineered": false,
                    "isForUnreleasedHardware": false,
                    "hasUiSoftware": false,
                    "businessJustification": c.justification,
                });
            }
            body["publishingSpecifications"] = spec;
        }
    }
    serde_json::from_value(body).map_err(|e| usage(format!("not a valid shipping label: {e}")))
}

/// Runs a labels command.
pub(crate) async fn run(ctx: &Ctx, command: Labels) -> Result<(), Failure> {
    // The new label's options are checked before signing in.
    if let Labels::Create(create) = &command {
        new_label(create)?;
    }
    let client = ctx.client().await?;
    match command {
        Labels::List {
            at,
            targeting,
            limit,
        } => {
            ctx.out
                .list(
                    client.list_shipping_labels(Id(at.product), Id(at.submission), targeting),
                    limit.limit,
                )
                .await?;
        }
        Labels::Get {
            at,
            label,
            targeting,
        } => {
            ctx.out.item(
                &client
                    .get_shipping_label(Id(at.product), Id(at.submission), Id(label), targeting)
                    .await?,
            );
        }
        Labels::Create(create) => create_label(ctx, &client, create).await?,
        Labels::Update(update) => update_label(ctx, &client, update).await?,
        Labels::Cancel { at, label } => {
            client
                .cancel_shipping_label(Id(at.product), Id(at.submission), Id(label))
                .await?;
            ctx.out.done(
                &format!("Cancellation of shipping label {label} requested."),
                crate::results::LabelCancelled {
                    label,
                    cancel_requested: true,
                },
            );
        }
        Labels::Wait {
            at,
            label,
            until,
            wait,
        } => {
            let milestone = match until {
                Until::Approval => LabelMilestone::Approval,
                Until::Done => LabelMilestone::Done,
            };
            let spinner = Spinner::new(ctx.out.progress, &format!("shipping label {label}"));
            let result = client
                .wait_for_shipping_label(
                    Id(at.product),
                    Id(at.submission),
                    Id(label),
                    milestone,
                    &wait.options(),
                    &mut |l| spinner.set(label_status(l)),
                )
                .await;
            spinner.finish();
            ctx.out.item(&result?);
        }
    }
    Ok(())
}

/// `labels create`: the label published with the targeting its options choose.
async fn create_label(
    ctx: &Ctx,
    client: &hw_api::Client,
    create: CreateLabel,
) -> Result<(), Failure> {
    let body = new_label(&create)?;
    if !create.no_check {
        let product = client.get_product(Id(create.at.product)).await?;
        let found = super::preflight::findings(
            &format!("product {}", create.at.product),
            hw_api::preflight::label_rules(&product, &body),
        );
        super::preflight::enforce(ctx, "the shipping label", &found)?;
    }
    let filter = Filter {
        infs: create.infs.clone(),
        os_codes: create.os_codes.clone(),
        hardware_ids: create.hardware_ids.clone(),
    };
    let label = client
        .publish(
            Id(create.at.product),
            Id(create.at.submission),
            body,
            &filter,
        )
        .await?;
    ctx.out.item(&label);
    Ok(())
}

/// Whether `hardware_id` is one of `pnp` (compared as the service does, ignoring case).
fn named(hardware_id: &HardwareId, pnp: &[String]) -> bool {
    pnp.iter().any(|r| {
        hardware_id
            .pnp_string
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(r))
    })
}

async fn update_label(
    ctx: &Ctx,
    client: &hw_api::Client,
    update: UpdateLabel,
) -> Result<(), Failure> {
    let (product, submission, label) = (
        Id(update.at.product),
        Id(update.at.submission),
        Id(update.label),
    );
    // What the label targets now: needed to remove hardware ids, and to add CHIDs.
    let targeted = if update.remove.is_empty() && update.add_chids.is_empty() {
        Vec::new()
    } else {
        client
            .get_shipping_label(product, submission, label, true)
            .await?
            .targeting
            .map(|t| t.hardware_ids)
            .unwrap_or_default()
    };
    let mut hardware_ids = Vec::new();
    if !update.add.is_empty() {
        let metadata = client.driver_metadata(product, submission).await?;
        let filter = Filter {
            hardware_ids: update.add.clone(),
            ..Filter::default()
        };
        let added = metadata.hardware_ids(&filter);
        if added.is_empty() {
            return Err(usage(format!(
                "the driver metadata has none of the hardware ids {:?}",
                update.add
            )));
        }
        hardware_ids.extend(added.into_iter().map(|mut h| {
            h.action = Some(TargetingAction::Add);
            h
        }));
    }
    if !update.add_chids.is_empty() {
        // CHIDs only when every hardware id the label will target is for Windows 10 or later:
        // those it keeps and those added (the rule `hw_api::targeting` checks for a new label).
        let kept = targeted.iter().filter(|h| !named(h, &update.remove));
        hw_api::targeting::check_chid_targets(kept.chain(&hardware_ids)).map_err(|e| {
            Failure::Local {
                kind: hw_api::ErrorKind::Rejected,
                message: e.to_string(),
            }
        })?;
    }
    if !update.remove.is_empty() {
        let removed: Vec<_> = targeted
            .into_iter()
            .filter(|h| named(h, &update.remove))
            .map(|mut h| {
                h.action = Some(TargetingAction::Remove);
                h.distribution_state = None;
                h
            })
            .collect();
        if removed.is_empty() {
            return Err(usage(format!(
                "the label targets none of the hardware ids {:?}",
                update.remove
            )));
        }
        hardware_ids.extend(removed);
    }
    let chid = |chid: &String, action: &str| json!({"chid": chid, "action": action});
    let chids: Vec<_> = update
        .add_chids
        .iter()
        .map(|c| chid(c, "add"))
        .chain(update.remove_chids.iter().map(|c| chid(c, "remove")))
        .collect();
    let audiences = if update.clear_audiences {
        Some(Vec::new())
    } else if update.audiences.is_empty() {
        None
    } else {
        Some(update.audiences.clone())
    };
    let body: ShippingLabelUpdate = serde_json::from_value(json!({
        "targeting": {
            "hardwareIds": hardware_ids,
            "chids": chids,
            "restrictedToAudiences": audiences,
            "businessJustification": update.justification,
        }
    }))
    .map_err(|e| usage(format!("not a valid label update: {e}")))?;
    if !update.no_check && update.clear_audiences {
        let read = client.get_product(product).await?;
        let current = client
            .get_shipping_label(product, submission, label, false)
            .await?;
        let found = super::preflight::findings(
            &format!("product {product}"),
            hw_api::preflight::label_update_rules(&read, current.destination.as_ref(), &body),
        );
        super::preflight::enforce(ctx, "the label update", &found)?;
    }
    client
        .update_shipping_label(product, submission, label, &body)
        .await?;
    ctx.out.done(
        &format!("Shipping label {} updated.", update.label),
        crate::results::LabelUpdated {
            label: update.label,
            updated: true,
        },
    );
    Ok(())
}

/// Runs an audiences command.
pub(crate) async fn audiences(ctx: &Ctx, command: Audiences) -> Result<(), Failure> {
    let client = ctx.client().await?;
    let Audiences::List(limit) = command;
    ctx.out.list(client.list_audiences(), limit.limit).await?;
    Ok(())
}
