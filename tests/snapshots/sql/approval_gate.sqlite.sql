-- 2099A001.5.approval as of 2024-09-30
SELECT coalesce(sum(CASE WHEN 1 = 1 THEN 1 ELSE 0 END), 0) AS evidence, coalesce(sum(CASE WHEN (NOT (EXISTS (SELECT ap.id 
FROM approval AS ap 
WHERE ap.project_code = '2099A001' AND ap.retired_at IS NULL AND (ap.batch_id IS NULL OR (ap.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND (ap.activity_type IS NULL OR ap.activity_type = r.activity_type) AND (ap.valid_from IS NULL OR ap.valid_from <= r.date) AND (ap.valid_to IS NULL OR ap.valid_to >= r.date) AND ap.date <= r.date))) THEN 1 ELSE 0 END), 0) AS violations 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30';
