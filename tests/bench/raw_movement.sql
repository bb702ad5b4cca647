-- One stock movement as inventory.services.stock_move writes it, minus Django:
-- the movement row, the balance row locked and updated, and its ledger entry,
-- in one transaction. Half receipts, half issues, over the seeded balances.
-- Variables (pgbench -D): mat_lo, mat_hi, loc_lo, loc_hi, actor.
\set mat random(:mat_lo, :mat_hi)
\set loc random(:loc_lo, :loc_hi)
\set qty random(1, 5)
\set dir random(0, 1)
\set delta (2 * :dir - 1) * :qty
BEGIN;
INSERT INTO inventory_stockmovement (idempotency_key, request_fingerprint, movement_type,
    material_id, location_id, quantity, reason, reference, source, device_id, note,
    occurred_at, recorded_at, actor_id)
VALUES ('raw-' || gen_random_uuid(), md5(random()::text),
    CASE WHEN :dir = 1 THEN 'receipt' ELSE 'issue' END, :mat, :loc, :qty, '', '', 'api',
    'pgbench', '', now(), now(), :actor)
RETURNING id AS movement_id \gset
SELECT id AS balance_id FROM inventory_stockbalance
WHERE material_id = :mat AND location_id = :loc AND batch_id IS NULL FOR UPDATE \gset
UPDATE inventory_stockbalance SET on_hand = on_hand + :delta, updated_at = now()
WHERE id = :balance_id RETURNING on_hand AS balance_after \gset
INSERT INTO inventory_stockledgerentry (movement_id, material_id, location_id, quantity,
    balance_after, occurred_at, recorded_at)
VALUES (:movement_id, :mat, :loc, :delta, :balance_after, now(), now());
END;
