-- 2099A001.4.case_duration as of 2024-09-30
SELECT min(coalesce((((CAST(CAST(STRFTIME('%Y', cases.last) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', cases.last) AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', cases.first) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', cases.first) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', cases.last) AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', cases.first) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END, 0)) AS actual, coalesce(sum(cases.n), 0) AS evidence, 0 AS violations, count(*) AS units, min((((CAST(CAST(STRFTIME('%Y', '2025-03-31') AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', '2025-03-31') AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', coalesce(cases.first, '2024-09-30')) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', coalesce(cases.first, '2024-09-30')) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', '2025-03-31') AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', coalesce(cases.first, '2024-09-30')) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END) AS potential 
FROM (SELECT m.person_id AS member, m.enrolled_on AS enrolled, m.exit_on AS exited 
FROM person AS m 
WHERE m.project_code = '2099A001' AND m.retired_at IS NULL AND (m.batch_id IS NULL OR (m.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND m.population = 'cases' AND (m.enrolled_on IS NULL OR m.enrolled_on <= '2024-09-30')) AS m_roster LEFT OUTER JOIN (SELECT r.person_id AS member, min(r.date) AS first, max(r.date) AS last, count(*) AS n 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30' AND r.activity_type IN ('case_service') AND r.person_id IS NOT NULL GROUP BY r.person_id) AS cases ON cases.member = m_roster.member;
