//! All-to-all exchange between timely workers, in rounds.
//!
//! Each stage is a sequence of bulk-synchronous rounds: every worker hands one batch per peer to
//! a timely `Exchange` channel, advances the channel's epoch, and steps the worker until the
//! epoch's probe says every batch has arrived. Batches are then put in sender order, so whatever
//! a worker folds from them (float sums above all) comes out the same on every run.

use std::cell::RefCell;
use std::rc::Rc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;
use timely::ExchangeData;

/// Items per message: bounds the serialised size of one message whatever a batch holds.
const MESSAGE_ITEMS: usize = 1 << 16;

/// One message: (target worker, sending worker, round, sequence within the batch, items). The
/// round is needed because a faster peer's next round can arrive before this worker has finished
/// the current one.
type Message<T> = (u32, u32, u64, u32, Vec<T>);

/// A channel that moves `T`s between all workers, one round at a time.
pub struct Channel<T: ExchangeData + Clone> {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<Message<T>>>>,
    probe: ProbeHandle<u64>,
    inbox: Rc<RefCell<Vec<Message<T>>>>,
    /// Items sent by this worker to other workers, for the exchange-volume report.
    pub sent_items: u64,
}

impl<T: ExchangeData + Clone> Channel<T> {
    pub fn new(worker: &mut Worker) -> Self {
        let inbox: Rc<RefCell<Vec<Message<T>>>> = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&inbox);
        let mut input = InputHandle::new();
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    Exchange::new(|m: &Message<T>| u64::from(m.0)),
                    "Inbox",
                    move |_, _| {
                        move |input, _output| {
                            input.for_each(|_, data| sink.borrow_mut().append(data));
                        }
                    },
                )
                .probe()
                .0
        });
        Channel { input, probe, inbox, sent_items: 0 }
    }

    /// Sends `outgoing[p]` to worker `p` (every worker calls this in the same round) and returns
    /// what each worker sent to this one, indexed by sender.
    pub fn all_to_all(&mut self, worker: &mut Worker, outgoing: Vec<Vec<T>>) -> Vec<Vec<T>> {
        let (me, peers) = (worker.index(), worker.peers());
        debug_assert_eq!(outgoing.len(), peers);
        let round = *self.input.time();
        for (to, mut items) in outgoing.into_iter().enumerate() {
            if to != me {
                self.sent_items += items.len() as u64;
            }
            let mut seq = 0u32;
            while items.len() > MESSAGE_ITEMS {
                let rest = items.split_off(MESSAGE_ITEMS);
                self.input.send((to as u32, me as u32, round, seq, items));
                items = rest;
                seq += 1;
            }
            if !items.is_empty() {
                self.input.send((to as u32, me as u32, round, seq, items));
            }
        }
        self.input.advance_to(round + 1);
        while self.probe.less_than(self.input.time()) {
            worker.step();
        }
        let (mut messages, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *self.inbox.borrow_mut()).into_iter().partition(|m| m.2 == round);
        *self.inbox.borrow_mut() = later;
        messages.sort_unstable_by_key(|m| (m.1, m.3));
        let mut by_sender: Vec<Vec<T>> = (0..peers).map(|_| Vec::new()).collect();
        for (_, from, _, _, items) in messages {
            let slot = &mut by_sender[from as usize];
            if slot.is_empty() {
                *slot = items;
            } else {
                slot.extend(items);
            }
        }
        by_sender
    }

    /// Every worker's `value`, in worker order, on every worker.
    pub fn all_gather(&mut self, worker: &mut Worker, value: T) -> Vec<T> {
        let outgoing = (0..worker.peers()).map(|_| vec![value.clone()]).collect();
        self.all_to_all(worker, outgoing).into_iter().flatten().collect()
    }
}
