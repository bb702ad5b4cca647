-- The smallest form of a stock change: update one balance and append its ledger
-- entry, in one transaction (the reference figure in the platform notes).
-- Entries hang on one anchor movement, so sum(ledger) == on_hand still holds.
-- Variables (pgbench -D): mat_lo, mat_hi, loc_lo, loc_hi, anchor.
\set mat random(:mat_lo, :mat_hi)
\set loc random(:loc_lo, :loc_hi)
\set qty random(1, 5)
\set dir random(0, 1)
\set delta (2 * :dir - 1) * :qty
BEGIN;
UPDATE inventory_stockbalance SET on_hand = on_hand + :delta, updated_at = now()
WHERE material_id = :mat AND location_id = :loc AND batch_id IS NULL
RETURNING on_hand AS balance_after \gset
INSERT INTO inventory_stockledgerentry (movement_id, material_id, location_id, quantity,
    balance_after, occurred_at, recorded_at)
VALUES (:anchor, :mat, :loc, :delta, :balance_after, now(), now());
END;
