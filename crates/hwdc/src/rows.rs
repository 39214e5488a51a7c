//! The table columns of each resource.

use hw_api::types::{Audience, Product, ShippingLabel, ShippingLabelCurrentStep, Submission};

use crate::output::Row;

fn text<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A submission's current step and its state (`scanning started`).
pub(crate) fn submission_status(s: &Submission) -> String {
    let status = s.workflow_status.as_ref();
    let step = status.map(|w| text(&w.current_step)).unwrap_or_default();
    let state = status.map(|w| text(&w.state)).unwrap_or_default();
    format!("{step} {state}").trim().to_owned()
}

/// A label's current step and its state (`microsoftApproval started`).
pub(crate) fn label_status(l: &ShippingLabel) -> String {
    let status = l.workflow_status.as_ref();
    let step = status
        .and_then(|s| s.current_step.as_ref())
        .map(|s| match s {
            ShippingLabelCurrentStep::ShippingLabelStep(step) => step.to_string(),
            ShippingLabelCurrentStep::Int64(n) => n.to_string(),
        });
    let state = status.map(|s| text(&s.state)).unwrap_or_default();
    format!("{} {state}", step.unwrap_or_default())
        .trim()
        .to_owned()
}

impl Row for Product {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("ID", 20), ("NAME", 32), ("HARNESS", 12), ("COMMITTED", 9)];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            text(&self.product_name),
            text(&self.test_harness),
            text(&self.is_committed),
        ]
    }
}

impl Row for Submission {
    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("ID", 20),
        ("NAME", 28),
        ("TYPE", 8),
        ("COMMIT", 15),
        ("STEP", 22),
        ("STATE", 10),
    ];

    fn cells(&self) -> Vec<String> {
        let status = self.workflow_status.as_ref();
        vec![
            self.id.to_string(),
            text(&self.name),
            text(&self.type_),
            text(&self.commit_status),
            status.map(|s| text(&s.current_step)).unwrap_or_default(),
            status.map(|s| text(&s.state)).unwrap_or_default(),
        ]
    }
}

impl Row for ShippingLabel {
    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("ID", 20),
        ("NAME", 28),
        ("DESTINATION", 14),
        ("STEP", 24),
        ("STATE", 10),
    ];

    fn cells(&self) -> Vec<String> {
        let status = self.workflow_status.as_ref();
        let step = status
            .and_then(|s| s.current_step.as_ref())
            .map(|s| match s {
                ShippingLabelCurrentStep::ShippingLabelStep(step) => step.to_string(),
                ShippingLabelCurrentStep::Int64(n) => n.to_string(),
            });
        vec![
            self.id.to_string(),
            text(&self.name),
            text(&self.destination),
            step.unwrap_or_default(),
            status.map(|s| text(&s.state)).unwrap_or_default(),
        ]
    }
}

impl Row for Audience {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("ID", 38), ("NAME", 32), ("DESCRIPTION", 40)];

    fn cells(&self) -> Vec<String> {
        vec![self.id.clone(), text(&self.name), text(&self.description)]
    }
}
