-- 2099A001.5.rules as of 2024-09-30
SELECT judgement.verdict, judgement.value AS actual, judgement.evidence AS text, judgement.author, judgement.recorded_at 
FROM judgement 
WHERE judgement.kpi_id = '2099A001.5.rules' ORDER BY judgement.recorded_at DESC, judgement.id DESC 
 LIMIT 1;
