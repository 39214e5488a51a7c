//! Many flows on one client (`Client::ship_batch`) under the account's quota: every item
//! shipped, results in the items' order, one item's failure not stopping the others, and the
//! shared rate keeping the 429s few.

use std::sync::Mutex;
use std::time::Duration;

use hw_api::batch::{BatchItem, BatchObserver};
use hw_api::ship::{FileStateStore, ProductChoice, ShipPlan, ShipReport};
use hw_api::types::{NewSubmission, SubmissionType};
use hw_api::{Error, Id, WaitOptions};
use hw_sim::SimConfig;
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir::Dir;

/// Remembers which items started and finished, and the most running at once.
#[derive(Default)]
struct Seen {
    running: Mutex<(usize, usize)>,
    finished: Mutex<Vec<usize>>,
}

impl BatchObserver for Seen {
    fn started(&self, _index: usize) {
        let mut running = self.running.lock().unwrap();
        running.0 += 1;
        running.1 = running.1.max(running.0);
    }

    fn finished(&self, index: usize, _result: &Result<ShipReport, Error>) {
        self.running.lock().unwrap().0 -= 1;
        self.finished.lock().unwrap().push(index);
    }
}

#[tokio::test]
async fn a_batch_ships_every_item_within_its_concurrency_under_the_quota() {
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_millis(20),
        rate_limit: Some(1200),
        rate_limit_burst: Some(5),
        ..SimConfig::default()
    })
    .await;
    // One product per driver: a product has one initial submission.
    let products: Vec<u64> = (0..6)
        .map(|i| sim.add_product(&format!("fleet {i}")))
        .collect();
    let dir = Dir::new("batch");
    let client = sim.client();
    let items: Vec<BatchItem> = (0..6)
        .map(|i| {
            let package = dir.path().join(format!("driver-{i}.cab"));
            // Item 3's package fails Microsoft's workflow; the others sign.
            let content = if i == 3 {
                b"PK HWSIM-FAIL-AT:validation".to_vec()
            } else {
                vec![i as u8; 50_000]
            };
            std::fs::write(&package, content).unwrap();
            let plan = ShipPlan::new(
                &package,
                ProductChoice::Id(Id(products[i])),
                NewSubmission {
                    name: format!("fleet {i}").as_str().try_into().unwrap(),
                    type_: SubmissionType::Initial,
                },
                dir.path().join(format!("signed-{i}.cab")),
                "hw-sim-tenant/hw-sim-client",
            )
            .with_wait(WaitOptions::default().with_first_interval(Duration::from_millis(10)));
            BatchItem::new(
                plan,
                Box::new(FileStateStore::beside(&package, ".hwdc.json")),
            )
        })
        .collect();
    let seen = Seen::default();
    let results = client.ship_batch(&items, 3, &seen).await;
    assert_eq!(results.len(), 6);
    for (i, result) in results.iter().enumerate() {
        if i == 3 {
            let error = result.as_ref().unwrap_err();
            assert_eq!(error.kind(), hw_api::ErrorKind::WorkflowFailed, "{error}");
        } else {
            let report = result.as_ref().unwrap();
            assert!(dir.path().join(format!("signed-{i}.cab")).exists());
            assert_eq!(report.product, Id(products[i]));
            // The journal of a finished item is kept, finished (a file store's way).
            let journal = FileStateStore::new(dir.path().join(format!("driver-{i}.cab.hwdc.json")));
            let state = hw_api::ship::StateStore::load(&journal).unwrap().unwrap();
            assert!(state.is_finished(), "{state:?}");
        }
    }
    let (running, most) = *seen.running.lock().unwrap();
    assert_eq!(running, 0);
    assert_eq!(most, 3, "at most 3 at once, and 3 did run at once");
    let mut finished = seen.finished.lock().unwrap().clone();
    finished.sort();
    assert_eq!(finished, (0..6).collect::<Vec<_>>());
    for product in products {
        assert_eq!(
            sim.submissions_of(product).len(),
            1,
            "one submission per item"
        );
    }
    let (admitted, throttled) = sim.quota().unwrap();
    assert!(
        throttled * 10 <= admitted,
        "{throttled} 429s for {admitted} requests"
    );
}
